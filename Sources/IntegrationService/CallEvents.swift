import Contracts

/// The events that report a call's result (contracts/v1 `integration.succeeded`, `.compensated`,
/// `.failed`), caused by the call's command and correlated with its chain.
enum CallEvents {
    static func succeeded(_ call: CallDocument, attempts: Int, output: JSONValue?) -> Envelope {
        var payload = common(call, attempts: attempts)
        switch call.operation {
        case .invoke:
            payload["operation"] = .string(CallOperation.invoke.rawValue)
            if let output, case .object = output { payload["output"] = output }
            return envelope(call, type: MessageType.integrationSucceeded, payload: payload)
        case .compensate:
            return envelope(call, type: MessageType.integrationCompensated, payload: payload)
        }
    }

    static func failed(_ call: CallDocument, attempts: Int, failure: CallFailure) -> Envelope {
        var payload = common(call, attempts: attempts)
        payload["operation"] = .string(call.operation.rawValue)
        payload["reason"] = .string(failure.reason)
        payload["permanent"] = .bool(!failure.retryable)
        return envelope(call, type: MessageType.integrationFailed, payload: payload)
    }

    private static func common(_ call: CallDocument, attempts: Int) -> [String: JSONValue] {
        var payload: [String: JSONValue] = [
            "callId": .string(call.callId), "integration": .string(call.integration), "attempts": .integer(Int64(attempts)),
        ]
        if let sagaId = call.sagaId { payload["sagaId"] = .string(sagaId) }
        if let step = call.step { payload["step"] = .integer(Int64(step)) }
        if let subject = call.subject { payload["subject"] = .string(subject) }
        return payload
    }

    private static func envelope(_ call: CallDocument, type: String, payload: [String: JSONValue]) -> Envelope {
        Envelope(type: type, kind: .event, tenant: call.tenant, actor: call.actor, correlationId: call.correlationId,
                 causationId: call.commandId, payload: .object(payload))
    }
}
