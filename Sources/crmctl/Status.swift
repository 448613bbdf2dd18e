import ArgumentParser
import Contracts
import Foundation
import RedisClient

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show each shard's streams (length, groups, lag, pending), DLQ sizes and the live consumers.")

    @OptionGroup var connection: ClientOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let redis = try connection.connection()
        var shards: [JSONValue] = []
        var lines: [String] = []
        for shard in connection.router.allShards {
            var streams: [JSONValue] = []
            let names = CommandStream.allCases.map { shard.commands($0) } + [shard.events, shard.audit, shard.dlq]
            for name in names {
                let length = try await redis.xlen(name)
                var groups: [JSONValue] = []
                for group in try await redis.xinfoGroups(name) {
                    groups.append([
                        "group": .string(group.name), "consumers": .integer(Int64(group.consumers)),
                        "pending": .integer(Int64(group.pending)), "lag": group.lag.map { .integer(Int64($0)) } ?? .null,
                    ])
                    lines.append(row(name, length, group.name, "\(group.consumers)", group.lag.map(String.init) ?? "?", "\(group.pending)"))
                }
                if groups.isEmpty { lines.append(row(name, length, "-", "-", "-", "-")) }
                streams.append(["stream": .string(name), "length": .integer(Int64(length)), "groups": .array(groups)])
            }
            shards.append(["shard": .integer(Int64(shard.shard)), "dlq": .integer(Int64(try await redis.xlen(shard.dlq))), "streams": .array(streams)])
        }
        var consumers: [JSONValue] = []
        var cursor = "0"
        repeat {
            let reply = try await redis.send("SCAN", cursor, "MATCH", "crm:health:*", "COUNT", 500)
            let parts = reply.array ?? []
            cursor = parts.first?.string ?? "0"
            for key in (parts.count > 1 ? parts[1].array ?? [] : []).compactMap(\.string) {
                if let bytes = try await redis.send("GET", key).bytes, let health = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) {
                    consumers.append(health)
                }
            }
        } while cursor != "0"
        if json {
            printJSON(["shards": .array(shards), "consumers": .array(consumers)])
            return
        }
        print(row("STREAM", nil, "GROUP", "CONSUMERS", "LAG", "PENDING"))
        lines.forEach { print($0) }
        print("\nLIVE CONSUMERS")
        for consumer in consumers {
            print("  \(consumer["service"]?.stringValue ?? "?")  \(consumer["consumer"]?.stringValue ?? "?")  \(consumer["status"]?.stringValue ?? "?")  since \(consumer["startedAt"]?.stringValue ?? "?")")
        }
        if consumers.isEmpty { print("  none: no service has reported in the last 15 s") }
    }

    private func row(_ stream: String, _ length: Int?, _ group: String, _ consumers: String, _ lag: String, _ pending: String) -> String {
        func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count) }
        return pad(stream, 26) + pad(length.map(String.init) ?? "LENGTH", 9) + pad(group, 13) + pad(consumers, 10) + pad(lag, 6) + pending
    }
}
