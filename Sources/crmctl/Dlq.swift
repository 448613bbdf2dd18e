import ArgumentParser
import Contracts
import Foundation
import RedisClient

struct Dlq: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect and replay dead-lettered entries.", subcommands: [List.self, Replay.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print DLQ entries as JSON lines (reason, source, deliveries, the envelope as received).")

        @OptionGroup var connection: ClientOptions

        @Option(help: "Only this tenant's shard.")
        var tenant: String?

        @Option(help: "At most this many entries per shard, oldest first.")
        var count: Int = 100

        func run() async throws {
            let redis = try connection.connection()
            for shard in connection.shards(tenant: tenant) {
                for entry in try await redis.xrange(shard.dlq, count: max(count, 1)) {
                    var line: [String: JSONValue] = ["shard": .integer(Int64(shard.shard)), "entryId": .string(entry.id)]
                    for name in ["reason", "detail", "source", "group", "entryId", "deliveries", "failedAt"] {
                        if let value = entry.string(name) { line[name == "entryId" ? "sourceEntryId" : name] = .string(value) }
                    }
                    line["envelope"] = envelopeJSON(entry.field("envelope"))
                    printJSON(.object(line))
                }
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a DLQ entry back on the stream it came from and remove it from the DLQ (after fixing its cause).")

        @OptionGroup var connection: ClientOptions

        @Argument(help: "The DLQ entry id (from crmctl dlq list).")
        var entryID: String

        @Option(help: "The shard whose DLQ holds the entry.")
        var shard: Int

        func run() async throws {
            guard shard >= 0, shard < connection.shards else { throw ValidationError("--shard must be 0…\(connection.shards - 1)") }
            let keys = ShardKeys(shard: shard)
            let redis = try connection.connection()
            guard let entry = try await redis.xrange(keys.dlq, start: entryID, end: entryID, count: 1).first,
                  let envelope = entry.field("envelope"), let source = entry.string("source") else {
                throw ValidationError("no DLQ entry \(entryID) on shard \(shard)")
            }
            guard source.hasPrefix("crm:\(keys.tag):cmd:") else {
                throw ValidationError("entry \(entryID) came from \(source); only command streams can be replayed")
            }
            // Both keys share the shard's hash tag: one transaction moves the entry.
            let replies = try await redis.pipeline([
                RedisCommand("MULTI"), StreamCommands.xadd(source, fields: [("envelope", envelope)]),
                RedisCommand("XDEL", [keys.dlq, entryID]), RedisCommand("EXEC"),
            ])
            guard case .array(let results) = replies.last, let newID = results.first?.string else {
                throw ValidationError("the replay failed: \(replies)")
            }
            printJSON(["replayed": .string(entryID), "stream": .string(source), "entryId": .string(newID)])
        }
    }
}
