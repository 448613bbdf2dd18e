import ArgumentParser
import Contracts
import CrmCore
import CrmRedis
import Foundation
import RedisClient

struct Sla: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sla",
        abstract: "SLA status of a tenant's records (on_track, at_risk, breached, paused) as JSON lines, optionally of one record or one status.",
        discussion: "Reads the SLA clocks sla-timer-service keeps (met clocks are gone once the record left the stage) and their timers.")

    @OptionGroup var connection: ClientOptions

    @Option(help: "The tenant.")
    var tenant: String

    @Option(help: "Only records in this status: on_track, at_risk, breached or paused.")
    var status: String?

    @Argument(help: "lead or opportunity (with an id: that record only).")
    var entity: String?

    @Argument(help: "The record's id.")
    var id: String?

    func validate() throws {
        guard Identifier.isTenant(tenant) else { throw ValidationError("'\(tenant)' is not a tenant name") }
        if let entity, EntityKind(rawValue: entity) == nil { throw ValidationError("the entity is lead or opportunity, not '\(entity)'") }
        if let id, !Identifier.isMessageID(id) { throw ValidationError("'\(id)' is not a record id") }
        if let status, !["on_track", "at_risk", "breached", "paused"].contains(status) {
            throw ValidationError("--status is on_track, at_risk, breached or paused, not '\(status)'")
        }
    }

    func run() async throws {
        let redis = try connection.connection()
        let shard = connection.router.keys(forTenant: tenant)
        var pattern = "\(tenant):"
        if let entity { pattern += "\(entity):" }
        if let id { pattern += "\(id):" }
        var cursor = "0"
        var clocks: [SlaClockState] = []
        repeat {
            let reply = try await redis.send("HSCAN", shard.slaClocks, cursor, "MATCH", "\(pattern)*", "COUNT", 1000)
            guard let parts = reply.array, parts.count == 2 else { break }
            cursor = parts[0].string ?? "0"
            let pairs = parts[1].array ?? []
            for index in stride(from: 1, to: pairs.count, by: 2) {
                if let bytes = pairs[index].bytes, let clock = try? JSONDecoder().decode(SlaClockState.self, from: Data(bytes)) { clocks.append(clock) }
            }
        } while cursor != "0"
        var found = false
        for clock in clocks.sorted(by: { ($0.entity, $0.recordId, $0.policy) < ($1.entity, $1.recordId, $1.policy) }) {
            let base = "sla:\(clock.entity):\(clock.recordId):\(clock.policy)"
            let members = ["\(base):at_risk", "\(base):breach"].map { TimerMember.make(tenant: tenant, timerID: $0) }
            let timers = try await redis.send("HMGET", shard.timersData, members[0], members[1]).array ?? []
            let states = timers.map { $0.bytes.flatMap { try? JSONDecoder().decode(TimerRecord.self, from: Data($0)) }?.status }
            let current: String
            if clock.clock.runningSince == nil { current = "paused" }
            else if states.count == 2, states[1] == .fired { current = "breached" }
            else if states.first == .fired { current = "at_risk" }
            else { current = "on_track" }
            if let status, status != current { continue }
            found = true
            printJSON([
                "record": .string("\(clock.entity):\(clock.recordId)"), "sla": .string(clock.policy), "stage": .string(clock.stage), "status": .string(current),
                "within": .string(clock.within), "startedAt": .string(InstantText.rfc3339(milliseconds: clock.clock.startedAt)),
                "deadline": .string(InstantText.rfc3339(milliseconds: clock.deadline)),
            ])
        }
        if id != nil, !found { throw ExitCode(1) }
    }
}
