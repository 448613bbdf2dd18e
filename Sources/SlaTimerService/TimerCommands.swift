import Contracts
import CrmCore
import CrmRedis

/// What `timer.schedule` asks for.
struct ScheduleRequest {
    let timerID: String
    let due: TimerDue
    let data: JSONValue?

    /// The largest `data` accepted, encoded.
    static let maximumDataBytes = 16 * 1024

    static func read(_ payload: JSONValue) throws(Rejection) -> ScheduleRequest {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["timerId", "at", "after", "data"])
            let timerID = try reader.string("timerId", maxLength: 128, rule: Identifier.isMessageID, expected: "a timer id (letters, digits, '.', '_', '-')")
            let at = try reader.optionalString("at", maxLength: 40)
            let after = try reader.optionalString("after", maxLength: 64)
            let due: TimerDue
            switch (at, after) {
            case (let at?, nil):
                guard let instant = TimerDue.instant(at) else {
                    throw PayloadError(field: reader.at("at"), reason: "must be an RFC 3339 UTC time such as 2026-11-24T21:00:00Z, up to 9999-12-31")
                }
                due = .at(milliseconds: instant)
            case (nil, let after?):
                do {
                    due = .after(try ISODuration.parse(after))
                } catch {
                    throw PayloadError(field: reader.at("after"), reason: "\(error)")
                }
            case (nil, nil):
                throw PayloadError(field: reader.at("at"), reason: "is required, or 'after' instead (one of them)")
            case (.some, .some):
                throw PayloadError(field: reader.at("after"), reason: "cannot be given with 'at': a timer is due at one time")
            }
            let data = reader.fields["data"]
            if let data, data != .null {
                guard case .object = data else { throw PayloadError(field: reader.at("data"), reason: "must be an object, not \(data.typeName)") }
                guard data.compactJSON.count <= maximumDataBytes else {
                    throw PayloadError(field: reader.at("data"), reason: "is larger than \(maximumDataBytes) bytes")
                }
            }
            return ScheduleRequest(timerID: timerID, due: due, data: data == .null ? nil : data)
        } catch {
            throw Rejection(error)
        }
    }
}

/// The timer `timer.cancel` names.
enum CancelRequest {
    static func timerID(_ payload: JSONValue) throws(Rejection) -> String {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["timerId"])
            return try reader.string("timerId", maxLength: 128, rule: Identifier.isMessageID, expected: "a timer id (letters, digits, '.', '_', '-')")
        } catch {
            throw Rejection(error)
        }
    }
}

/// The decision of a timer command: timer changes, events and the outcome.
struct TimerDecision {
    var operations: [TimerOperation] = []
    var events: [GuardedEvent] = []
    let outcome: Envelope
}

enum TimerDecisions {
    static func schedule(_ command: Envelope, request: ScheduleRequest, state: TimerState, now: Int64) throws(Rejection) -> TimerDecision {
        if case .pending(let existing) = state {
            throw Rejection(.alreadyExists, "timer '\(request.timerID)' is already scheduled, due \(InstantText.rfc3339(milliseconds: existing.dueAt)); cancel it first",
                            field: "payload.timerId")
        }
        if case .firing = state {
            throw Rejection(.alreadyExists, "timer '\(request.timerID)' is firing right now; schedule it again once it has fired", field: "payload.timerId")
        }
        let record = TimerRecord(tenant: command.tenant, timerId: request.timerID, dueAt: request.due.milliseconds(scheduledAt: now), scheduledAt: now,
                                 actor: command.actor, correlationId: command.correlationId ?? command.id, causationId: command.id, data: request.data)
        return TimerDecision(operations: [TimerOperation(.schedule, record)],
                             outcome: CommandOutcome.accepted(command, events: [], recordID: request.timerID))
    }

    static func cancel(_ command: Envelope, timerID: String, state: TimerState, now: Int64) throws(Rejection) -> TimerDecision {
        switch state {
        case .absent:
            throw Rejection(.notFound, "tenant '\(command.tenant)' has no timer '\(timerID)' (never scheduled, or forgotten after the retention period)",
                            field: "payload.timerId")
        case .fired(let record):
            let firedAt = record.doneAt.map(InstantText.rfc3339(milliseconds:)) ?? "an unknown time"
            throw Rejection(.alreadyFired, "timer '\(timerID)' fired at \(firedAt); it can no longer be cancelled", field: "payload.timerId")
        case .firing:
            throw Rejection(.alreadyFired, "timer '\(timerID)' is firing right now; it can no longer be cancelled", field: "payload.timerId")
        case .cancelled:
            // Cancelling twice is harmless: the timer stays cancelled.
            return TimerDecision(outcome: CommandOutcome.accepted(command, events: [], recordID: timerID))
        case .pending(let record):
            return TimerDecision(operations: [TimerOperation(.cancel, record.done(.cancelled, at: now))],
                                 outcome: CommandOutcome.accepted(command, events: [], recordID: timerID))
        }
    }
}
