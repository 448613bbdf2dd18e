import ArgumentParser
import Contracts
import CrmKit
import Foundation
import RedisClient

/// `crmctl bench-gateway`: parallel-gateway sync time (DESIGN §5): for each run, every branch but one
/// is completed, then the time from publishing the last branch's `branch.complete` to its outcome —
/// the join is committed in that same step — is measured.
struct BenchGateway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-gateway",
        abstract: "Measure parallel-gateway sync: last branch.complete published → join committed; prints one JSON line.")

    @OptionGroup var connection: ClientOptions

    @Option(help: "Branches of the gateway.")
    var branches: Int = 10

    @Option(help: "Campaigns to run (one lead each).")
    var runs: Int = 200

    @Option(help: "The tenant the benchmark writes to.")
    var tenant: String = "bench-gw"

    @Option(help: "Write each sync time (ms), one per line, to this file (for make bench's chart).")
    var samples: String?

    func run() async throws {
        guard (1...32).contains(branches), runs >= 1 else { throw ValidationError("--branches 1…32 and --runs ≥ 1") }
        let client = CrmClient(endpoint: try connection.endpoint(), shards: connection.shards, poolSize: branches)
        func send(_ type: String, _ payload: JSONValue) async throws {
            let result = try await client.send(Envelope(type: type, kind: .command, tenant: tenant, actor: "bench", payload: payload), timeout: .seconds(30))
            guard result.accepted else { throw ValidationError("\(type) rejected: \(result.outcome.json)") }
        }
        let names = (0..<branches).map { "b\($0)" }
        try await send(MessageType.definitionPublish, [
            "entity": "lead", "name": "bench", "stages": [["name": "new", "initial": true], ["name": "campaign"], ["name": "done"], ["name": "won", "terminal": "won"]],
            "transitions": [["action": "start", "from": ["new"], "to": "campaign"], ["action": "win", "from": ["done"], "to": "won"]],
            "gateways": [["name": "blast", "stage": "campaign", "kind": "parallel", "join": "done",
                          "branches": .array(names.map { ["name": .string($0), "steps": [["name": "touch"]]] })]],
        ])
        let prefix = UUID().uuidString.prefix(8)
        let clock = ContinuousClock()
        var syncs: [Duration] = []
        for run in 0..<runs {
            let lead = JSONValue.string("G-\(prefix)-\(run)")
            try await send(MessageType.leadCreate, ["leadId": lead])
            try await send(MessageType.leadApply, ["leadId": lead, "action": "start"])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for name in names.dropLast() { group.addTask { try await send(MessageType.branchComplete, ["leadId": lead, "branch": .string(name)]) } }
                try await group.waitForAll()
            }
            let started = clock.now
            try await send(MessageType.branchComplete, ["leadId": lead, "branch": .string(names.last!)])
            syncs.append(clock.now - started)
        }
        await client.close()
        syncs.sort()
        if let samples {
            try syncs.map { String(format: "%.4f", $0.seconds * 1000) }.joined(separator: "\n").write(toFile: samples, atomically: true, encoding: .utf8)
        }
        func millis(_ p: Double) -> Double { (syncs[min(syncs.count - 1, Int(Double(syncs.count) * p))].seconds * 1e6).rounded() / 1000 }
        printJSON(["branches": .integer(Int64(branches)), "runs": .integer(Int64(runs)), "sync_p50_ms": .number(millis(0.5)), "sync_p99_ms": .number(millis(0.99))])
    }
}
