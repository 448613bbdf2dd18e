import Contracts
import CrmCore
import CrmRedis

/// Stale-record escalation: every activity on a record plans its escalation levels again from that
/// moment (one timer per level, replacing the previous plan), so activity resets the escalation; a
/// level whose condition no longer holds, or a record in a terminal stage, has its timer cancelled.
struct EscalationTracker {
    static func timerID(entity: EntityKind, recordID: String, level: Int) -> String { "esc:\(entity.rawValue):\(recordID):\(level)" }

    func changes(for activity: RecordActivity, definition: PipelineDefinition, record: PipelineRecord, event: Envelope, at: Int64) -> [TimerOperation] {
        guard !definition.escalation.isEmpty else { return [] }
        let planned = Dictionary(uniqueKeysWithValues: Escalations.plan(definition: definition, record: record, lastActivity: at).map { ($0.level, $0) })
        return (1...definition.escalation.count).map { level in
            let id = Self.timerID(entity: activity.entity, recordID: activity.recordID, level: level)
            guard let plan = planned[level] else {
                let stale = TimerRecord(tenant: event.tenant, timerId: id, dueAt: at, status: .cancelled, scheduledAt: at, doneAt: at, actor: event.actor,
                                        correlationId: event.correlationId ?? event.id, causationId: event.id)
                return TimerOperation(.cancelIfActive, stale)
            }
            let mark = TimerRecord.EscalationMark(entity: activity.entity.rawValue, recordId: activity.recordID, level: level, action: plan.rule.action.rawValue,
                                                  to: plan.rule.to, from: plan.from, after: plan.rule.after, lastActivityAt: at)
            return TimerOperation(.put, TimerRecord(tenant: event.tenant, timerId: id, dueAt: plan.dueAt, scheduledAt: at, actor: event.actor,
                                                    correlationId: event.correlationId ?? event.id, causationId: event.id, escalation: mark))
        }
    }
}
