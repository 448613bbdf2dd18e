import ArgumentParser
import Contracts
import CrmKit
import Foundation
import RedisClient
import Synchronization

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure command latency (published → outcome readable) and throughput against running services.",
        discussion: """
        Publishes a lead definition for --tenant (with --spread-shards, for one tenant per shard, named --tenant-s<N>), \
        sends --warmup commands that are not timed, then --commands lead.create commands from --concurrency workers; \
        prints one JSON line.
        """)

    @OptionGroup var connection: ClientOptions

    @Option(help: "Commands to send.")
    var commands: Int = 2000

    @Option(help: "Workers, each with its own connection, each waiting for its outcome before sending again.")
    var concurrency: Int = 1

    @Option(help: "The tenant the benchmark writes to.")
    var tenant: String = "bench"

    @Flag(help: "Spread the workers over one tenant per shard (so every shard's consumer works), not one tenant.")
    var spreadShards = false

    @Option(help: "Commands sent first and not timed (connections, caches and scripts warm).")
    var warmup: Int = 200

    @Option(help: "Write each command's latency (ms), one per line, to this file (for make bench's chart).")
    var samples: String?

    func run() async throws {
        guard commands >= 1, concurrency >= 1, concurrency <= 512 else { throw ValidationError("--commands ≥ 1 and --concurrency 1…512") }
        let client = CrmClient(endpoint: try connection.endpoint(), shards: connection.shards, poolSize: concurrency)
        let tenants = spreadShards ? Self.tenantPerShard(prefix: tenant, router: connection.router) : [tenant]
        for tenant in tenants {
            let definition = Envelope(type: MessageType.definitionPublish, kind: .command, tenant: tenant, actor: "bench", payload: [
                "entity": "lead", "name": "bench", "stages": [["name": "new", "initial": true], ["name": "won", "terminal": "won"]],
                "transitions": [["action": "close_won", "from": ["new"], "to": "won"]],
            ])
            _ = try await client.send(definition)
        }
        let run = UUID().uuidString.prefix(8)
        let clock = ContinuousClock()
        let concurrency = self.concurrency
        /// Runs `total` commands from the workers; returns each command's latency.
        func batch(_ total: Int, label: String) async throws -> [Duration] {
            let next = Ticket()
            return try await withThrowingTaskGroup(of: [Duration].self) { group in
                for worker in 0..<concurrency {
                    let tenant = tenants[worker % tenants.count]
                    group.addTask {
                        var mine: [Duration] = []
                        while true {
                            let index = next.take()
                            guard index < total else { return mine }
                            let command = Envelope(type: MessageType.leadCreate, kind: .command, tenant: tenant, actor: "bench",
                                                   payload: ["leadId": .string("B-\(run)-\(label)\(index)"), "data": ["score": .integer(Int64(index % 100))]])
                            let sent = clock.now
                            let result = try await client.send(command, timeout: .seconds(30))
                            guard result.accepted else { throw ValidationError("command rejected: \(result.outcome.json)") }
                            mine.append(clock.now - sent)
                        }
                    }
                }
                var all: [Duration] = []
                for try await part in group { all += part }
                return all
            }
        }
        if warmup > 0 { _ = try await batch(warmup, label: "w") }
        let started = clock.now
        let latencies = try await batch(commands, label: "").sorted()
        let elapsed = clock.now - started
        func percentile(_ p: Double) -> Double {
            latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))].seconds * 1000
        }
        await client.close()
        if let samples {
            try latencies.map { String(format: "%.4f", $0.seconds * 1000) }.joined(separator: "\n").write(toFile: samples, atomically: true, encoding: .utf8)
        }
        printJSON([
            "commands": .integer(Int64(commands)), "concurrency": .integer(Int64(concurrency)),
            "p50_ms": .number((percentile(0.50) * 1000).rounded() / 1000), "p99_ms": .number((percentile(0.99) * 1000).rounded() / 1000),
            "max_ms": .number(((latencies.last?.seconds ?? 0) * 1e6).rounded() / 1000),
            "throughput_per_s": .number((Double(commands) / elapsed.seconds).rounded()),
            "tenants": .integer(Int64(tenants.count)), "warmup": .integer(Int64(warmup)),
        ])
    }

    /// `<prefix>-s<N>` names, one landing on each shard (the shard is a hash of the name, so the
    /// first name found for each shard is taken).
    static func tenantPerShard(prefix: String, router: ShardRouter) -> [String] {
        var byShard: [Int: String] = [:]
        var candidate = 0
        while byShard.count < router.shards, candidate < 100_000 {
            let name = "\(prefix)-s\(candidate)"
            if byShard[router.shard(forTenant: name)] == nil { byShard[router.shard(forTenant: name)] = name }
            candidate += 1
        }
        return byShard.keys.sorted().map { byShard[$0]! }
    }
}

/// Hands out command numbers to the workers.
private final class Ticket: Sendable {
    private let counter = Atomic<Int>(0)
    func take() -> Int { counter.add(1, ordering: .relaxed).oldValue }
}
