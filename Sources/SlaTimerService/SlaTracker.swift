import Contracts
import CrmCore
import CrmRedis
import Foundation
import Logging
import RedisClient
import ServiceKit

/// Reacts to record events with SLA clocks: a record entering a stage with SLA policies starts them
/// (`sla.started`, and an at-risk and a breach timer each); leaving the stage stops them (`sla.met`
/// when the breach timer had not fired, and both timers cancelled), in one atomic commit per event.
struct SlaTracker {
    let store: TimerStore
    let pool: RedisPool
    let group: String
    let policy: CommitPolicy
    let zones: any TimeZoneRules
    let logger: Logger

    /// A record event this tracker cares about: which record, the stage it left and the one it entered.
    struct StageMove {
        let entity: EntityKind
        let recordID: String
        let left: String?
        let entered: String?
        let definitionVersion: Int?
    }

    static func move(of event: Envelope) -> StageMove? {
        let payload = event.payload
        switch event.type {
        case MessageType.leadCreated, MessageType.opportunityCreated:
            let entity: EntityKind = event.type == MessageType.leadCreated ? .lead : .opportunity
            guard let id = payload[entity == .lead ? "leadId" : "opportunityId"]?.stringValue, let stage = payload["stage"]?.stringValue else { return nil }
            var version: Int?
            if case .integer(let number)? = payload["definitionVersion"] { version = Int(number) }
            return StageMove(entity: entity, recordID: id, left: nil, entered: stage, definitionVersion: version)
        case MessageType.leadStageChanged, MessageType.opportunityStageChanged:
            let entity: EntityKind = event.type == MessageType.leadStageChanged ? .lead : .opportunity
            guard let id = payload[entity == .lead ? "leadId" : "opportunityId"]?.stringValue else { return nil }
            return StageMove(entity: entity, recordID: id, left: payload["from"]?.stringValue, entered: payload["to"]?.stringValue, definitionVersion: nil)
        default:
            return nil
        }
    }

    /// Handles one event; returns true when the commit acknowledged it, false when the event needs
    /// nothing (the runtime acknowledges it).
    func react(to message: InboundMessage) async throws -> Bool {
        let event = message.envelope
        guard let move = Self.move(of: event) else { return false }
        guard let definition = try await definition(of: move, tenant: event.tenant, shard: message.shard) else { return false }
        let leaving = definition.sla.filter { $0.stage == move.left }
        let entering = definition.sla.filter { $0.stage == move.entered }
        guard !leaving.isEmpty || !entering.isEmpty else { return false }
        guard let at = RFC3339.seconds(event.occurredAt).map({ Int64(($0 * 1000).rounded()) }) else { return false }
        var operations: [TimerOperation] = []
        var events: [GuardedEvent] = []
        for sla in leaving {
            let ids = Self.timerIDs(entity: move.entity, recordID: move.recordID, policy: sla.name)
            let breach = try await store.state(shard: message.shard, tenant: event.tenant, timerID: ids.breach)
            guard case .pending(let breachTimer) = breach, let mark = breachTimer.sla else { continue }
            var payload = SlaPayloads.base(mark)
            payload["metAt"] = .string(InstantText.rfc3339(milliseconds: at))
            events.append(GuardedEvent(event.event(type: MessageType.slaMet, payload: .object(payload), at: event.occurredAt), onlyIfActive: breachTimer.member))
            operations.append(TimerOperation(.cancelIfActive, breachTimer.done(.cancelled, at: at)))
            if case .pending(let atRisk) = try await store.state(shard: message.shard, tenant: event.tenant, timerID: ids.atRisk) {
                operations.append(TimerOperation(.cancelIfActive, atRisk.done(.cancelled, at: at)))
            }
        }
        for sla in entering {
            do {
                let (timers, started) = try start(sla, definition: definition, move: move, event: event, at: at)
                operations += timers.map { TimerOperation(.put, $0) }
                events.append(GuardedEvent(started))
            } catch {
                logger.error("SLA not started: its calendar cannot be computed", metadata: [
                    "crm.tenant": "\(event.tenant)", "crm.record": "\(move.recordID)", "crm.sla": "\(sla.name)", "error": "\(error)"])
            }
        }
        let result = try await store.commit(shard: message.shard, messageID: event.id, group: group, operations: operations, events: events, outcome: nil,
                                            acknowledging: (message.stream, message.entryID), now: at, policy: policy)
        if case .conflict(let member) = result {
            // Only cancelIfActive and put are used here, which have no precondition.
            throw RedisError.unexpectedReply(command: "SLA commit", expected: "no conflict", got: member)
        }
        return true
    }

    static func timerIDs(entity: EntityKind, recordID: String, policy: String) -> (atRisk: String, breach: String) {
        let base = "sla:\(entity.rawValue):\(recordID):\(policy)"
        return ("\(base):at_risk", "\(base):breach")
    }

    /// The two timers and the `sla.started` event of an SLA clock starting at `at`.
    private func start(_ sla: SlaPolicy, definition: PipelineDefinition, move: StageMove, event: Envelope, at: Int64) throws -> ([TimerRecord], Envelope) {
        let within = try ISODuration.parse(sla.within)
        let calendar = sla.calendar.flatMap { definition.calendars[$0] }?.prepared()
        let timeline = SlaTimeline(calendar: calendar, zones: zones)
        let clock = SlaClock(within: within.milliseconds, warnAt: sla.warningShare, startedAt: at)
        guard let deadlines = try clock.deadlines(on: timeline) else { throw PreparedCalendar.CalendarError.noWorkingTime(withinDays: 0) }
        let ids = Self.timerIDs(entity: move.entity, recordID: move.recordID, policy: sla.name)
        func timer(_ id: String, _ phase: TimerRecord.SlaMark.Phase, due: Int64) -> TimerRecord {
            TimerRecord(tenant: event.tenant, timerId: id, dueAt: due, scheduledAt: at, actor: event.actor, correlationId: event.correlationId ?? event.id,
                        causationId: event.id, sla: .init(entity: move.entity.rawValue, recordId: move.recordID, policy: sla.name, stage: sla.stage,
                                                          phase: phase, startedAt: at, deadline: deadlines.breach, within: sla.within))
        }
        let breach = timer(ids.breach, .breach, due: deadlines.breach)
        var payload = SlaPayloads.base(breach.sla!)
        payload["atRiskAt"] = .string(InstantText.rfc3339(milliseconds: deadlines.atRisk))
        payload["warnAt"] = .number(sla.warningShare)
        if let name = sla.calendar { payload["calendar"] = .string(name) }
        let started = event.event(type: MessageType.slaStarted, payload: .object(payload), at: event.occurredAt)
        return ([timer(ids.atRisk, .atRisk, due: deadlines.atRisk), breach], started)
    }

    /// The definition the record follows: the version named by the event, else the record's.
    private func definition(of move: StageMove, tenant: String, shard: ShardKeys) async throws -> PipelineDefinition? {
        let key = shard.definitions(tenant: tenant, entity: move.entity.rawValue)
        var version = move.definitionVersion
        if version == nil {
            let record = try await pool.send("HGET", shard.record(tenant: tenant, entity: move.entity.rawValue, id: move.recordID), "d")
            guard let bytes = record.bytes else { return nil }
            version = try JSONDecoder().decode(RecordVersionProbe.self, from: Data(bytes)).definitionVersion
        }
        guard let version, let bytes = try await pool.send("HGET", key, "d:\(version)").bytes else { return nil }
        return try JSONDecoder().decode(PipelineDefinition.self, from: Data(bytes))
    }
}

/// The one field of a stored record the tracker needs.
private struct RecordVersionProbe: Decodable {
    let definitionVersion: Int
}
