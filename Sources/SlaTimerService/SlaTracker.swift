import Contracts
import CrmCore
import CrmRedis
import Logging

/// SLA clocks of records. Entering a stage with SLA policies starts them (`sla.started`, an at-risk and
/// a breach timer each, and the clock kept in `timers:clocks`); leaving it stops them (`sla.met` only
/// if the breach had not fired — decided inside the commit — and both timers cancelled). A policy's
/// `pauseWhen` holding on the record pauses its clock (`sla.paused`, timers cancelled); once it no
/// longer holds the clock resumes with its deadline moved by the paused time (`sla.resumed`).
struct SlaTracker {
    let store: TimerStore
    let zones: any TimeZoneRules
    let logger: Logger

    struct Changes {
        var operations: [TimerOperation] = []
        var clocks: [ClockWrite] = []
        var events: [GuardedEvent] = []
    }

    static func timerIDs(entity: EntityKind, recordID: String, policy: String) -> (atRisk: String, breach: String) {
        let base = "sla:\(entity.rawValue):\(recordID):\(policy)"
        return ("\(base):at_risk", "\(base):breach")
    }

    func changes(for activity: RecordActivity, definition: PipelineDefinition, record: PipelineRecord, event: Envelope, shard: ShardKeys,
                 at: Int64) async throws -> Changes {
        var changes = Changes()
        if let move = activity.move {
            for sla in definition.sla where sla.stage == move.left {
                try await stop(sla, activity: activity, event: event, shard: shard, at: at, into: &changes)
            }
            for sla in definition.sla where sla.stage == move.entered {
                do {
                    try start(sla, definition: definition, record: record, activity: activity, event: event, at: at, into: &changes)
                } catch {
                    logger.error("SLA not started: its deadline cannot be computed", metadata: [
                        "crm.tenant": "\(event.tenant)", "crm.record": "\(activity.recordID)", "crm.sla": "\(sla.name)", "error": "\(error)"])
                }
            }
        } else {
            for sla in definition.sla where sla.stage == record.stage && sla.pauseWhen != nil {
                try await pauseOrResume(sla, definition: definition, record: record, activity: activity, event: event, shard: shard, at: at, into: &changes)
            }
        }
        return changes
    }

    private func timeline(_ sla: SlaPolicy, _ definition: PipelineDefinition) -> SlaTimeline {
        SlaTimeline(calendar: sla.calendar.flatMap { definition.calendars[$0] }?.prepared(), zones: zones)
    }

    private func mark(_ state: SlaClockState, phase: TimerRecord.SlaMark.Phase, deadline: Int64) -> TimerRecord.SlaMark {
        TimerRecord.SlaMark(entity: state.entity, recordId: state.recordId, policy: state.policy, stage: state.stage, phase: phase,
                            startedAt: state.clock.startedAt, deadline: deadline, within: state.within,
                            onBreach: phase == .breach && !state.onBreach.isEmpty ? state.onBreach : nil)
    }

    /// The at-risk and breach timers of a running clock, due at its deadlines.
    private func timers(_ state: SlaClockState, deadlines: SlaClock.Deadlines, event: Envelope, at: Int64) -> [TimerRecord] {
        let ids = Self.timerIDs(entity: EntityKind(rawValue: state.entity) ?? .lead, recordID: state.recordId, policy: state.policy)
        func timer(_ id: String, _ phase: TimerRecord.SlaMark.Phase, due: Int64) -> TimerRecord {
            TimerRecord(tenant: event.tenant, timerId: id, dueAt: due, scheduledAt: at, actor: event.actor, correlationId: event.correlationId ?? event.id,
                        causationId: event.id, sla: mark(state, phase: phase, deadline: deadlines.breach))
        }
        return [timer(ids.atRisk, .atRisk, due: deadlines.atRisk), timer(ids.breach, .breach, due: deadlines.breach)]
    }

    private func start(_ sla: SlaPolicy, definition: PipelineDefinition, record: PipelineRecord, activity: RecordActivity, event: Envelope, at: Int64,
                       into changes: inout Changes) throws {
        let within = try ISODuration.parse(sla.within)
        let timeline = timeline(sla, definition)
        var state = SlaClockState(tenant: event.tenant, entity: activity.entity.rawValue, recordId: activity.recordID, policy: sla.name, stage: sla.stage,
                                  within: sla.within, calendar: sla.calendar, clock: SlaClock(within: within.milliseconds, warnAt: sla.warningShare, startedAt: at), deadline: at,
                                  onBreach: sla.onBreach)
        guard let deadlines = try state.clock.deadlines(on: timeline) else { throw PreparedCalendar.CalendarError.noWorkingTime(withinDays: 0) }
        state.deadline = deadlines.breach
        var payload = SlaPayloads.base(mark(state, phase: .breach, deadline: deadlines.breach))
        payload["atRiskAt"] = .string(InstantText.rfc3339(milliseconds: deadlines.atRisk))
        payload["warnAt"] = .number(sla.warningShare)
        if let name = sla.calendar { payload["calendar"] = .string(name) }
        changes.events.append(GuardedEvent(event.event(type: MessageType.slaStarted, payload: .object(payload), at: event.occurredAt)))
        if sla.pauses(record, in: definition, at: at) {
            // Entered the stage already waiting on the customer: the clock starts paused.
            try state.clock.pause(at: at, on: timeline)
            changes.events.append(GuardedEvent(paused(state, deadline: deadlines.breach, event: event, at: at)))
        } else {
            changes.operations += timers(state, deadlines: deadlines, event: event, at: at).map { TimerOperation(.put, $0) }
        }
        changes.clocks.append(ClockWrite(field: state.field, json: TimerStore.encode(state)))
    }

    private func stop(_ sla: SlaPolicy, activity: RecordActivity, event: Envelope, shard: ShardKeys, at: Int64, into changes: inout Changes) async throws {
        let field = SlaClockState.field(tenant: event.tenant, entity: activity.entity.rawValue, recordId: activity.recordID, policy: sla.name)
        let state = try await store.clock(shard: shard, field: field)
        changes.clocks.append(ClockWrite(field: field, json: nil))
        func met(_ mark: TimerRecord.SlaMark, onlyIfActive guardMember: String?) {
            var payload = SlaPayloads.base(mark)
            payload["metAt"] = .string(InstantText.rfc3339(milliseconds: at))
            changes.events.append(GuardedEvent(event.event(type: MessageType.slaMet, payload: .object(payload), at: event.occurredAt), onlyIfActive: guardMember))
        }
        if let state, state.clock.runningSince == nil, state.clock.outcome == nil {
            // Paused (its timers were cancelled before any breach): leaving the stage meets it.
            met(mark(state, phase: .breach, deadline: state.deadline), onlyIfActive: nil)
            return
        }
        let ids = Self.timerIDs(entity: activity.entity, recordID: activity.recordID, policy: sla.name)
        guard case .pending(let breach) = try await store.state(shard: shard, tenant: event.tenant, timerID: ids.breach), let mark = breach.sla else { return }
        met(mark, onlyIfActive: breach.member)
        changes.operations.append(TimerOperation(.cancelIfActive, breach.done(.cancelled, at: at)))
        if case .pending(let atRisk) = try await store.state(shard: shard, tenant: event.tenant, timerID: ids.atRisk) {
            changes.operations.append(TimerOperation(.cancelIfActive, atRisk.done(.cancelled, at: at)))
        }
    }

    private func paused(_ state: SlaClockState, deadline: Int64, event: Envelope, at: Int64) -> Envelope {
        var payload = SlaPayloads.base(mark(state, phase: .breach, deadline: deadline))
        payload["pausedAt"] = .string(InstantText.rfc3339(milliseconds: at))
        payload["usedMs"] = .integer(state.clock.consumed)
        return event.event(type: MessageType.slaPaused, payload: .object(payload), at: event.occurredAt)
    }

    private func pauseOrResume(_ sla: SlaPolicy, definition: PipelineDefinition, record: PipelineRecord, activity: RecordActivity, event: Envelope,
                               shard: ShardKeys, at: Int64, into changes: inout Changes) async throws {
        let field = SlaClockState.field(tenant: event.tenant, entity: activity.entity.rawValue, recordId: activity.recordID, policy: sla.name)
        guard var state = try await store.clock(shard: shard, field: field), state.clock.outcome == nil else { return }
        let timeline = timeline(sla, definition)
        let waiting = sla.pauses(record, in: definition, at: at)
        let ids = Self.timerIDs(entity: activity.entity, recordID: activity.recordID, policy: sla.name)
        if waiting, state.clock.runningSince != nil {
            guard case .pending(let breach) = try await store.state(shard: shard, tenant: event.tenant, timerID: ids.breach) else { return }
            try state.clock.pause(at: at, on: timeline)
            // Only if the breach has not fired meanwhile: the commit decides, as for sla.met.
            changes.events.append(GuardedEvent(paused(state, deadline: breach.dueAt, event: event, at: at), onlyIfActive: breach.member))
            changes.clocks.append(ClockWrite(field: field, json: TimerStore.encode(state), onlyIfActive: breach.member))
            changes.operations.append(TimerOperation(.cancelIfActive, breach.done(.cancelled, at: at)))
            if case .pending(let atRisk) = try await store.state(shard: shard, tenant: event.tenant, timerID: ids.atRisk) {
                changes.operations.append(TimerOperation(.cancelIfActive, atRisk.done(.cancelled, at: at)))
            }
        } else if !waiting, state.clock.runningSince == nil {
            state.clock.resume(at: at)
            guard let deadlines = try state.clock.deadlines(on: timeline) else { return }
            state.deadline = deadlines.breach
            var payload = SlaPayloads.base(mark(state, phase: .breach, deadline: deadlines.breach))
            payload["resumedAt"] = .string(InstantText.rfc3339(milliseconds: at))
            payload["atRiskAt"] = .string(InstantText.rfc3339(milliseconds: deadlines.atRisk))
            changes.events.append(GuardedEvent(event.event(type: MessageType.slaResumed, payload: .object(payload), at: event.occurredAt)))
            changes.operations += timers(state, deadlines: deadlines, event: event, at: at).map { TimerOperation(.put, $0) }
            changes.clocks.append(ClockWrite(field: field, json: TimerStore.encode(state)))
        }
    }
}
