/// A lead as stored: its stage, the definition version it started with, its data and its version
/// (incremented by every change; the optimistic concurrency check compares it).
public struct LeadRecord: Sendable, Hashable, Codable {
    public let id: String
    public var stage: String
    public let definitionVersion: Int
    public var data: [String: FieldValue]
    public var version: Int

    public init(id: String, stage: String, definitionVersion: Int, data: [String: FieldValue], version: Int) {
        self.id = id
        self.stage = stage
        self.definitionVersion = definitionVersion
        self.data = data
        self.version = version
    }
}

/// The request to create a lead, already checked for shape by the adapter.
public struct CreateLead: Sendable, Hashable {
    public let leadID: String
    public let data: [String: FieldValue]
    /// Pin a definition version; nil takes the latest.
    public let definitionVersion: Int?

    public init(leadID: String, data: [String: FieldValue], definitionVersion: Int?) {
        self.leadID = leadID
        self.data = data
        self.definitionVersion = definitionVersion
    }
}

/// What creating a lead decides.
public enum LeadCreation: Sendable, Equatable {
    /// A new record, to be written at version 1.
    case created(LeadRecord)
    /// The subject already has its one CRM instance: the same record is returned and nothing changes.
    case existing(LeadRecord)
}

public enum LeadRules {
    /// Decides a `lead.create` against what the store holds: the record if any, and the definition asked for.
    public static func create(_ command: CreateLead, existing: LeadRecord?, definition: CompiledDefinition?) throws(DomainRejection) -> LeadCreation {
        if let existing { return .existing(existing) }
        guard let definition else {
            let which = command.definitionVersion.map { "version \($0) of the lead definition" } ?? "lead definition"
            throw DomainRejection(code: "unknown_definition", message: "the tenant has no \(which); publish one with definition.publish first",
                                  field: command.definitionVersion == nil ? nil : "payload.definitionVersion")
        }
        guard definition.source.entity == .lead else {
            throw DomainRejection(code: "unknown_definition", message: "definition version \(definition.version) describes the entity '\(definition.source.entity.rawValue)', not 'lead'")
        }
        return .created(LeadRecord(id: command.leadID, stage: definition.initialStage, definitionVersion: definition.version,
                                   data: command.data, version: 1))
    }
}
