import ArgumentParser
import Contracts
import CrmCore
import Foundation
import RedisClient

/// `crmctl bench-compile`: how long compiling a definition at publish takes (parse, type-check every
/// expression, reachability), on a definition of the given size. Pure CPU, no Redis.
struct BenchCompile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-compile",
        abstract: "Measure definition compile time (what definition.publish does before storing); prints one JSON line.")

    @Option(help: "Stages in the generated definition (each with a conditional and a guarded transition).")
    var stages: Int = 50

    @Option(help: "Compilations to time.")
    var runs: Int = 2000

    func run() async throws {
        guard (2...64).contains(stages), runs >= 1 else { throw ValidationError("--stages 2…64 (the publish limit) and --runs ≥ 1") }
        let definition = SizedDefinition.chain(stages: stages)
        let clock = ContinuousClock()
        var times: [Duration] = []
        times.reserveCapacity(runs)
        for _ in 0..<runs {
            let started = clock.now
            _ = try CompiledDefinition.compile(definition, version: 1)
            times.append(clock.now - started)
        }
        times.sort()
        func micros(_ p: Double) -> Double { (times[min(times.count - 1, Int(Double(times.count) * p))].seconds * 1e7).rounded() / 10 }
        printJSON([
            "stages": .integer(Int64(stages)), "transitions": .integer(Int64(definition.transitions.count)),
            "fields": .integer(Int64(definition.fields.count)), "runs": .integer(Int64(runs)),
            "p50_us": .number(micros(0.5)), "p99_us": .number(micros(0.99)),
        ])
    }
}
