import CrmKit
import Contracts
import Hummingbird
import RedisClient

extension GatewayRoutes {
    /// `GET /healthz`: 200 when Redis answers and every consumer group keeps up; 503 when Redis does
    /// not answer or a group is more than `maxHealthyLag` entries behind. Lists each group's lag and
    /// pending entries summed over the shards, and its consumers (the most on one shard: every
    /// consumer reads every shard).
    func health() async throws -> Response {
        do {
            _ = try await client.pool.send("PING")
        } catch {
            return Responses.json(.serviceUnavailable, ["status": "degraded", "redis": .string("\(error)")])
        }
        struct Totals { var lag = 0, pending = 0, consumers = 0, lagUnknown = false }
        var groups: [String: Totals] = [:]
        do {
            try await client.pool.withConnection { connection in
                for shard in client.router.allShards {
                    let streams = CommandStream.allCases.map { ("cmd:\($0.rawValue)", shard.commands($0)) } + [("events", shard.events)]
                    for (name, stream) in streams {
                        for group in try await connection.xinfoGroups(stream) {
                            var totals = groups["\(name)/\(group.name)"] ?? Totals()
                            totals.pending += group.pending
                            totals.consumers = max(totals.consumers, group.consumers)
                            if let lag = group.lag { totals.lag += lag } else { totals.lagUnknown = true }
                            groups["\(name)/\(group.name)"] = totals
                        }
                    }
                }
            }
        } catch {
            return Responses.json(.serviceUnavailable, ["status": "degraded", "redis": "ok", "groups": .string("unreadable: \(error)")])
        }
        let behind = groups.filter { $0.value.lag > settings.maxHealthyLag }.keys.sorted()
        let report: [JSONValue] = groups.keys.sorted().map { key in
            let totals = groups[key]!
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            return ["stream": .string(parts[0]), "group": .string(parts[1]), "lag": totals.lagUnknown ? .null : .integer(Int64(totals.lag)),
                    "pending": .integer(Int64(totals.pending)), "consumers": .integer(Int64(totals.consumers))]
        }
        var body: [String: JSONValue] = ["status": behind.isEmpty ? "ok" : "lagging", "redis": "ok", "groups": .array(report),
                                         "maxLag": .integer(Int64(settings.maxHealthyLag))]
        if !behind.isEmpty { body["behind"] = .array(behind.map { .string($0) }) }
        return Responses.json(behind.isEmpty ? .ok : .serviceUnavailable, .object(body))
    }
}
