public import CrmCore
/// Why a command was refused. The codes are part of the wire contract (command.rejected.schema.json).
public enum RejectionCode: String, Sendable, CaseIterable {
    case invalidPayload = "invalid_payload"
    case invalidDefinition = "invalid_definition"
    case unknownDefinition = "unknown_definition"
    case alreadyExists = "already_exists"
    case conflict
    case invalidTransition = "invalid_transition"
    case guardFailed = "guard_failed"
    case vetoed
    case tooLarge = "too_large"
    case notFound = "not_found"
    /// timer.cancel of a timer that has fired already.
    case alreadyFired = "already_fired"
    case forbidden
    case `internal`
    // Assignment, delegation and approvals.
    case unknownUser = "unknown_user"
    case inactiveUser = "inactive_user"
    case emptyPool = "empty_pool"
    case invalidDelegation = "invalid_delegation"
    case forbiddenSelfAssignment = "forbidden_self_assignment"
    case notAnApprover = "not_an_approver"
    case forbiddenSelfApproval = "forbidden_self_approval"
    case alreadyVoted = "already_voted"
    case approvalRequired = "approval_required"
}

/// A command's refusal: its code, a message for a person, and the offending field when there is one.
public struct Rejection: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: RejectionCode
    public let message: String
    public let field: String?

    public init(_ code: RejectionCode, _ message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    /// A CrmCore refusal as a command rejection; a code the contract does not list is `internal`.
    public init(_ domain: DomainRejection) {
        self.init(RejectionCode(rawValue: domain.code) ?? .internal, domain.message, field: domain.field)
    }

    public init(_ error: PayloadError) {
        self.init(.invalidPayload, error.description, field: error.field)
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// Builds the two outcome events of DESIGN §3.
public enum CommandOutcome {
    public static func accepted(_ command: Envelope, events: [Envelope], recordID: String? = nil, recordVersion: Int? = nil) -> Envelope {
        var payload: [String: JSONValue] = [
            "commandId": .string(command.id),
            "commandType": .string(command.type),
            "events": .array(events.map { ["id": .string($0.id), "type": .string($0.type)] }),
        ]
        if let recordID { payload["recordId"] = .string(recordID) }
        if let recordVersion { payload["recordVersion"] = .integer(Int64(recordVersion)) }
        return command.event(type: MessageType.commandAccepted, payload: .object(payload))
    }

    public static func rejected(_ command: Envelope, _ rejection: Rejection) -> Envelope {
        var payload: [String: JSONValue] = [
            "commandId": .string(command.id),
            "commandType": .string(command.type),
            "code": .string(rejection.code.rawValue),
            "message": .string(String(rejection.message.prefix(2000))),
        ]
        if let field = rejection.field { payload["field"] = .string(field) }
        // The record the command named, so a refused attempt is part of that record's history.
        if let entity = command.type.split(separator: ".").first, let id = command.payload["\(entity)Id"]?.stringValue, Identifier.isMessageID(id) {
            payload["recordId"] = .string(id)
        }
        return command.event(type: MessageType.commandRejected, payload: .object(payload))
    }
}
