import Contracts
import CrmCore
import CrmRedis
import Logging

/// SLA clocks of record moves: entering a stage with SLA policies starts them (`sla.started`, and an
/// at-risk and a breach timer each); leaving it stops them (`sla.met` only if the breach timer had
/// not fired, decided inside the commit, and both timers cancelled).
struct SlaTracker {
    let store: TimerStore
    let zones: any TimeZoneRules
    let logger: Logger

    static func timerIDs(entity: EntityKind, recordID: String, policy: String) -> (atRisk: String, breach: String) {
        let base = "sla:\(entity.rawValue):\(recordID):\(policy)"
        return ("\(base):at_risk", "\(base):breach")
    }

    func changes(for activity: RecordActivity, definition: PipelineDefinition, event: Envelope, shard: ShardKeys, at: Int64) async throws
        -> (operations: [TimerOperation], events: [GuardedEvent]) {
        guard let move = activity.move else { return ([], []) }
        var operations: [TimerOperation] = []
        var events: [GuardedEvent] = []
        for sla in definition.sla where sla.stage == move.left {
            let ids = Self.timerIDs(entity: activity.entity, recordID: activity.recordID, policy: sla.name)
            guard case .pending(let breach) = try await store.state(shard: shard, tenant: event.tenant, timerID: ids.breach), let mark = breach.sla else { continue }
            var payload = SlaPayloads.base(mark)
            payload["metAt"] = .string(InstantText.rfc3339(milliseconds: at))
            events.append(GuardedEvent(event.event(type: MessageType.slaMet, payload: .object(payload), at: event.occurredAt), onlyIfActive: breach.member))
            operations.append(TimerOperation(.cancelIfActive, breach.done(.cancelled, at: at)))
            if case .pending(let atRisk) = try await store.state(shard: shard, tenant: event.tenant, timerID: ids.atRisk) {
                operations.append(TimerOperation(.cancelIfActive, atRisk.done(.cancelled, at: at)))
            }
        }
        for sla in definition.sla where sla.stage == move.entered {
            do {
                let (timers, started) = try start(sla, definition: definition, activity: activity, event: event, at: at)
                operations += timers.map { TimerOperation(.put, $0) }
                events.append(GuardedEvent(started))
            } catch {
                logger.error("SLA not started: its deadline cannot be computed", metadata: [
                    "crm.tenant": "\(event.tenant)", "crm.record": "\(activity.recordID)", "crm.sla": "\(sla.name)", "error": "\(error)"])
            }
        }
        return (operations, events)
    }

    /// The two timers and the `sla.started` event of an SLA clock starting at `at`.
    private func start(_ sla: SlaPolicy, definition: PipelineDefinition, activity: RecordActivity, event: Envelope, at: Int64) throws -> ([TimerRecord], Envelope) {
        let within = try ISODuration.parse(sla.within)
        let calendar = sla.calendar.flatMap { definition.calendars[$0] }?.prepared()
        let clock = SlaClock(within: within.milliseconds, warnAt: sla.warningShare, startedAt: at)
        guard let deadlines = try clock.deadlines(on: SlaTimeline(calendar: calendar, zones: zones)) else {
            throw PreparedCalendar.CalendarError.noWorkingTime(withinDays: 0)
        }
        let ids = Self.timerIDs(entity: activity.entity, recordID: activity.recordID, policy: sla.name)
        func timer(_ id: String, _ phase: TimerRecord.SlaMark.Phase, due: Int64) -> TimerRecord {
            TimerRecord(tenant: event.tenant, timerId: id, dueAt: due, scheduledAt: at, actor: event.actor, correlationId: event.correlationId ?? event.id,
                        causationId: event.id, sla: .init(entity: activity.entity.rawValue, recordId: activity.recordID, policy: sla.name, stage: sla.stage,
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
}
