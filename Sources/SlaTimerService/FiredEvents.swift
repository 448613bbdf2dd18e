import Contracts
import CrmCore
import CrmRedis

/// The events a timer writes when it fires: `timer.fired` for a client's timer, `sla.at_risk` or
/// `sla.breached` for an SLA clock's.
enum FiredEvents {
    static func events(for timer: TimerRecord, firedAt now: Int64) -> [Envelope] {
        let id = TimerStore.firingID(member: timer.member, dueAt: timer.dueAt)
        let firedAt = InstantText.rfc3339(milliseconds: now)
        if let escalation = timer.escalation {
            let payload: [String: JSONValue] = [
                "subject": .string("\(escalation.entity):\(escalation.recordId)"), "entity": .string(escalation.entity),
                "recordId": .string(escalation.recordId), "level": .integer(Int64(escalation.level)), "action": .string(escalation.action),
                "from": .string(escalation.from), "to": .string(escalation.to),
                "reason": .string("no activity for \(escalation.after) since \(InstantText.rfc3339(milliseconds: escalation.lastActivityAt))"),
                "lastActivityAt": .string(InstantText.rfc3339(milliseconds: escalation.lastActivityAt)), "escalatedAt": .string(firedAt),
            ]
            return [envelope(id: id, type: MessageType.recordEscalated, timer: timer, at: firedAt, payload: .object(payload))]
        }
        guard let mark = timer.sla else {
            var payload: [String: JSONValue] = [
                "timerId": .string(timer.timerId), "dueAt": .string(InstantText.rfc3339(milliseconds: timer.dueAt)), "firedAt": .string(firedAt),
                "scheduledBy": .string(timer.causationId),
            ]
            if let data = timer.data { payload["data"] = data }
            let fired = envelope(id: id, type: MessageType.timerFired, timer: timer, at: firedAt, payload: .object(payload))
            // A timer scheduled to escalate a record (CrmKit's escalateAfter) also says so, in that record's history.
            guard let subject = timer.data?["escalate"]?.stringValue, let colon = subject.firstIndex(of: ":") else { return [fired] }
            let escalated: [String: JSONValue] = [
                "subject": .string(subject), "entity": .string(String(subject[..<colon])), "recordId": .string(String(subject[subject.index(after: colon)...])),
                "level": 1, "action": "notify", "from": "owner", "to": .string(timer.data?["to"]?.stringValue ?? "manager"),
                "reason": .string(timer.data?["reason"]?.stringValue ?? "escalation scheduled by \(timer.actor)"),
                "lastActivityAt": .string(InstantText.rfc3339(milliseconds: timer.scheduledAt)), "escalatedAt": .string(firedAt),
            ]
            return [fired, envelope(id: Envelope.newID(), type: MessageType.recordEscalated, timer: timer, at: firedAt, payload: .object(escalated))]
        }
        var payload = SlaPayloads.base(mark)
        switch mark.phase {
        case .atRisk:
            payload["atRiskAt"] = .string(firedAt)
            return [envelope(id: id, type: MessageType.slaAtRisk, timer: timer, at: firedAt, payload: .object(payload))]
        case .breach:
            payload["breachedAt"] = .string(firedAt)
            if let actions = mark.onBreach, !actions.isEmpty {
                payload["actions"] = .array(actions.map { ["action": .string($0.action), "to": .string($0.to)] })
            }
            let breached = envelope(id: id, type: MessageType.slaBreached, timer: timer, at: firedAt, payload: .object(payload))
            // An `escalate` breach action escalates the record at once (reassign and notify are carried
            // out by assignment-service and pipeline-service, which react to the breach itself).
            let escalations = (mark.onBreach ?? []).filter { $0.action == "escalate" }.map { action in
                envelope(id: Envelope.newID(), type: MessageType.recordEscalated, timer: timer, at: firedAt, payload: [
                    "subject": .string("\(mark.entity):\(mark.recordId)"), "entity": .string(mark.entity), "recordId": .string(mark.recordId),
                    "level": 1, "action": "notify", "from": "owner", "to": .string(action.to),
                    "reason": .string("SLA \(mark.policy) breached on stage \(mark.stage)"),
                    "lastActivityAt": .string(InstantText.rfc3339(milliseconds: mark.startedAt)), "escalatedAt": .string(firedAt),
                ])
            }
            return [breached] + escalations
        }
    }

    private static func envelope(id: String, type: String, timer: TimerRecord, at time: String, payload: JSONValue) -> Envelope {
        Envelope(id: id, type: type, kind: .event, tenant: timer.tenant, actor: timer.actor, correlationId: timer.correlationId,
                 causationId: timer.causationId, occurredAt: time, payload: payload)
    }
}

/// The fields every `sla.*` event shares.
enum SlaPayloads {
    static func base(_ mark: TimerRecord.SlaMark) -> [String: JSONValue] {
        [
            "subject": .string("\(mark.entity):\(mark.recordId)"), "entity": .string(mark.entity), "recordId": .string(mark.recordId), "sla": .string(mark.policy), "stage": .string(mark.stage),
            "within": .string(mark.within), "startedAt": .string(InstantText.rfc3339(milliseconds: mark.startedAt)),
            "deadline": .string(InstantText.rfc3339(milliseconds: mark.deadline)),
        ]
    }
}
