public import Contracts

/// The record an event is about, for the audit trail's per-record history: `lead`/`L-1001`.
public struct AuditSubject: Sendable, Hashable, CustomStringConvertible {
    public let entity: String
    public let id: String

    public init(entity: String, id: String) {
        self.entity = entity
        self.id = id
    }

    public var description: String { "\(entity):\(id)" }

    /// Payload fields that name a record, by entity.
    static let idFields: [(field: String, entity: String)] = [
        ("leadId", "lead"), ("opportunityId", "opportunity"), ("contactId", "contact"),
    ]

    /// The record an event concerns: its payload's record id, the record a command outcome names, or
    /// for a definition the entity it defines. Nil for events about no record.
    public static func of(_ envelope: Envelope) -> AuditSubject? {
        let payload = envelope.payload
        for (field, entity) in idFields {
            if let id = payload[field]?.stringValue, Identifier.isMessageID(id) { return AuditSubject(entity: entity, id: id) }
        }
        if let entity = payload["subjectEntity"]?.stringValue, let id = payload["subjectId"]?.stringValue,
           Identifier.isName(entity), Identifier.isMessageID(id) {
            return AuditSubject(entity: entity, id: id)
        }
        if let subject = payload["subject"]?.stringValue {
            let parts = subject.split(separator: ":", maxSplits: 1).map(String.init)
            if parts.count == 2, Identifier.isName(parts[0]), Identifier.isMessageID(parts[1]) { return AuditSubject(entity: parts[0], id: parts[1]) }
        }
        if envelope.type == MessageType.commandAccepted || envelope.type == MessageType.commandRejected,
           let id = payload["recordId"]?.stringValue, Identifier.isMessageID(id),
           let commandType = payload["commandType"]?.stringValue, let entity = commandType.split(separator: ".").first {
            return AuditSubject(entity: String(entity), id: id)
        }
        if envelope.type.hasPrefix("definition."), let entity = payload["entity"]?.stringValue, Identifier.isName(entity) {
            return AuditSubject(entity: "definition", id: entity)
        }
        return nil
    }
}

extension ShardKeys {
    /// A record's audit history: the ids of its audit entries, oldest first (a list).
    public func auditHistory(tenant: String, subject: AuditSubject) -> String {
        "crm:\(tag):audit:hist:\(tenant):\(subject.entity):\(subject.id)"
    }

    /// Signed checkpoints of the chain head (a stream).
    public var auditCheckpoints: String { "crm:\(tag):audit:checkpoints" }
}
