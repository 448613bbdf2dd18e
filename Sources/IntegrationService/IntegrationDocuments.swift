public import Contracts

/// A tenant's integration as configured with `integration.configure`, stored with its secret.
public struct IntegrationConfig: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case webhook, plugin, email
    }

    public var name: String
    public var kind: Kind
    /// Webhooks: where to post.
    public var url: String?
    /// Webhooks: signs each request; never written to an event or a log.
    public var secret: String?
    /// Plugins: the executable's name in the deployment's plugin directory.
    public var plugin: String?
    /// Plugins: the address-space limit.
    public var memoryMb: Int?
    /// Email: the deployment's SMTP relay, the sender, and the templates (`{{path}}` into the input).
    public var smtpHost: String?
    public var smtpPort: Int?
    public var from: String?
    public var subject: String?
    public var body: String?
    public var compensateSubject: String?
    public var compensateBody: String?
    public var timeoutMs: Int
    public var maxConcurrency: Int
    /// Calls per second at most (nil = unlimited).
    public var ratePerSecond: Double?
    public var configVersion: Int

    /// The description events and operators see: everything but the secret.
    public var publicDescription: JSONValue {
        var fields: [String: JSONValue] = [
            "integration": .string(name), "kind": .string(kind.rawValue),
            "timeoutMs": .integer(Int64(timeoutMs)), "maxConcurrency": .integer(Int64(maxConcurrency)),
            "configVersion": .integer(Int64(configVersion)),
        ]
        if let ratePerSecond { fields["ratePerSecond"] = .number(ratePerSecond) }
        if let url { fields["url"] = .string(url) }
        if let plugin { fields["plugin"] = .string(plugin) }
        if let memoryMb { fields["memoryMb"] = .integer(Int64(memoryMb)) }
        if let smtpHost { fields["smtpHost"] = .string(smtpHost) }
        if let smtpPort { fields["smtpPort"] = .integer(Int64(smtpPort)) }
        for (name, value) in [("from", from), ("subject", subject), ("body", body), ("compensateSubject", compensateSubject), ("compensateBody", compensateBody)] {
            if let value { fields[name] = .string(value) }
        }
        return .object(fields)
    }
}

/// The two things a call can do: the integration's action, or undoing it (a saga's compensation).
public enum CallOperation: String, Codable, Sendable {
    case invoke, compensate
}

/// One call as accepted: everything a worker needs to make it and report it, whoever accepted it.
public struct CallDocument: Codable, Sendable, Equatable {
    public var tenant: String
    public var actor: String
    public var callId: String
    public var operation: CallOperation
    public var integration: String
    public var input: JSONValue
    public var subject: String?
    public var sagaId: String?
    public var step: Int?
    /// What the receiver sees in `Idempotency-Key`, the same on every attempt.
    public var idempotencyKey: String
    public var commandId: String
    public var correlationId: String
    public var commandStream: String
    public var commandEntryId: String

    /// The idempotency key of DESIGN's integration contract: `<sagaId>:<step>` for a saga step (a
    /// compensation adds `:compensate`, so a receiver never takes it for a replay of the step), else the call id.
    public static func idempotencyKey(callId: String, sagaId: String?, step: Int?, operation: CallOperation) -> String {
        guard let sagaId else { return callId }
        let base = "\(sagaId):\(step ?? 0)"
        return operation == .compensate ? "\(base):compensate" : base
    }

    /// The member naming this call in the shard's due set.
    public var member: String { "\(tenant):\(callId)" }
}
