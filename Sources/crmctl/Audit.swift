import ArgumentParser
import Contracts
import CrmRedis
import Foundation
import RedisClient

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read and check the audit trail.", subcommands: [Tail.self, Verify.self])

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print audit entries as JSON lines, oldest first; --follow waits for new ones.")

        @OptionGroup var connection: ClientOptions

        @Flag(help: "Keep printing new entries until interrupted.")
        var follow = false

        @Option(help: "Only this tenant's entries (reads only its shard).")
        var tenant: String?

        @Option(help: "Print at most this many existing entries per shard (the newest ones).")
        var count: Int = 100

        func run() async throws {
            let redis = try connection.connection()
            var cursors: [(String, String)] = []
            for shard in connection.shards(tenant: tenant) {
                let entries = try await redis.xrevrange(shard.audit, count: max(count, 1)).reversed()
                for entry in entries where count > 0 { emit(entry, shard: shard.shard) }
                cursors.append((shard.audit, entries.last?.id ?? "0-0"))
            }
            guard follow else { return }
            let shardOf = Dictionary(uniqueKeysWithValues: connection.shards(tenant: tenant).map { ($0.audit, $0.shard) })
            while !Task.isCancelled {
                let batch = try await redis.xread(streams: cursors, count: 100, block: .seconds(5))
                for (stream, entries) in batch {
                    for entry in entries { emit(entry, shard: shardOf[stream] ?? -1) }
                    if let last = entries.last, let index = cursors.firstIndex(where: { $0.0 == stream }) { cursors[index].1 = last.id }
                }
            }
        }

        private func emit(_ entry: StreamEntry, shard: Int) {
            let envelope = envelopeJSON(entry.field("envelope"))
            if let tenant, envelope["tenant"]?.stringValue != tenant { return }
            printJSON([
                "shard": .integer(Int64(shard)), "entryId": .string(entry.id), "seq": .integer(Int64(entry.string("seq") ?? "") ?? 0),
                "hash": .string(entry.string("hash") ?? ""), "prev": .string(entry.string("prev") ?? ""), "envelope": envelope,
            ])
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Recompute every shard's hash chain; exit 1 if any link is broken.")

        @OptionGroup var connection: ClientOptions

        func run() async throws {
            let redis = try connection.connection()
            var broken = 0
            for shard in connection.router.allShards {
                let (checked, breaks) = try await AuditChain.verify(shard: shard, connection: redis)
                broken += breaks.count
                print("shard \(shard.shard): \(checked) entries, \(breaks.isEmpty ? "chain intact" : "\(breaks.count) broken link(s)")")
                for problem in breaks { print("  \(problem)") }
            }
            if broken > 0 { throw ExitCode(1) }
        }
    }
}

