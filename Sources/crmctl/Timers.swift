import ArgumentParser
import Contracts
import CrmCore
import CrmRedis
import Foundation
import RedisClient

struct Timers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List durable timers due soon, overdue or firing, as JSON lines (earliest first), or count them per shard.",
        discussion: """
        Each line: shard, tenant, timerId, kind (timer, sla or escalation), dueAt, state (pending, overdue: due but not yet \
        claimed, or firing: claimed under a lease), lateMs for overdue and firing ones, and the record for SLA and escalation timers. \
        Overdue timers pile up when no sla-timer-service runs or it cannot keep up.
        """)

    @OptionGroup var connection: ClientOptions

    @Option(help: "Only this tenant's timers (and only its shard).")
    var tenant: String?

    @Option(help: "Include timers due within this ISO 8601 duration from now (e.g. PT1H, P1D).")
    var within: String = "PT1H"

    @Option(help: "At most this many timers per shard.")
    var limit: Int = 100

    @Flag(help: "Print one line per shard with counts (pending, overdue, firing, next due) instead of the timers.")
    var counts = false

    func validate() throws {
        if let tenant, !Identifier.isTenant(tenant) { throw ValidationError("'\(tenant)' is not a tenant name") }
        guard limit >= 1, limit <= 10_000 else { throw ValidationError("--limit must be 1…10000") }
        do {
            _ = try ISODuration.parse(within)
        } catch {
            throw ValidationError("--within: \(error)")
        }
    }

    func run() async throws {
        let redis = try connection.connection()
        let now = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        let horizon = now + (try ISODuration.parse(within)).milliseconds
        for shard in connection.shards(tenant: tenant) {
            if counts {
                let replies = try await redis.pipeline([
                    RedisCommand("ZCARD", [shard.timersDue]), RedisCommand("ZCOUNT", [shard.timersDue, "-inf", now]),
                    RedisCommand("ZCARD", [shard.timersLeased]), RedisCommand("ZRANGE", [shard.timersDue, 0, 0, "WITHSCORES"]),
                ])
                var line: [String: JSONValue] = [
                    "shard": .integer(Int64(shard.shard)), "pending": .integer(replies[0].integer ?? 0), "overdue": .integer(replies[1].integer ?? 0),
                    "firing": .integer(replies[2].integer ?? 0),
                ]
                if let next = replies[3].array, next.count == 2, let score = next[1].string.flatMap(Double.init) {
                    line["nextDueAt"] = .string(InstantText.rfc3339(milliseconds: Int64(score)))
                }
                printJSON(.object(line))
                continue
            }
            // A tenant's timers share the shard with others: read more and keep the tenant's.
            let scan = tenant == nil ? limit : 10_000
            let replies = try await redis.pipeline([
                RedisCommand("ZRANGEBYSCORE", [shard.timersDue, "-inf", horizon, "LIMIT", 0, scan]),
                RedisCommand("ZRANGE", [shard.timersLeased, 0, scan - 1]),
            ])
            let pending = (replies[0].array ?? []).compactMap(\.string)
            let firing = Set((replies[1].array ?? []).compactMap(\.string))
            let members = (pending + firing.sorted()).filter { tenant == nil || TimerMember.split($0)?.tenant == tenant }
            guard !members.isEmpty else { continue }
            let data = try await redis.send(RedisCommand("HMGET", [shard.timersData] + members.map { $0 as any RedisArgumentConvertible }))
            let records = (data.array ?? []).compactMap { $0.bytes.flatMap { try? JSONDecoder().decode(TimerRecord.self, from: Data($0)) } }
            for record in records.sorted(by: { $0.dueAt < $1.dueAt }).prefix(limit) {
                printJSON(.object(line(record, shard: shard, firing: firing.contains(record.member), now: now)))
            }
        }
    }

    func line(_ record: TimerRecord, shard: ShardKeys, firing: Bool, now: Int64) -> [String: JSONValue] {
        var line: [String: JSONValue] = [
            "shard": .integer(Int64(shard.shard)), "tenant": .string(record.tenant), "timerId": .string(record.timerId),
            "dueAt": .string(InstantText.rfc3339(milliseconds: record.dueAt)),
            "state": .string(firing ? "firing" : record.dueAt <= now ? "overdue" : "pending"),
            "kind": .string(record.sla != nil ? "sla" : record.escalation != nil ? "escalation" : "timer"),
        ]
        if firing || record.dueAt <= now { line["lateMs"] = .integer(max(0, now - record.dueAt)) }
        if let sla = record.sla { line["record"] = .string("\(sla.entity):\(sla.recordId)"); line["sla"] = .string("\(sla.policy) \(sla.phase.rawValue)") }
        if let escalation = record.escalation {
            line["record"] = .string("\(escalation.entity):\(escalation.recordId)")
            line["escalation"] = .string("level \(escalation.level): \(escalation.action) \(escalation.to)")
        }
        return line
    }
}
