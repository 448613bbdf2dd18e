/// A contact: a person with free-form data, linked to the leads and opportunities it came from.
public struct ContactRecord: Sendable, Hashable, Codable {
    public let id: String
    public var data: [String: FieldValue]
    public var version: Int
    /// Records this contact is linked to, as `entity:id` (e.g. `lead:L-1`).
    public var links: [String]

    public init(id: String, data: [String: FieldValue], version: Int, links: [String] = []) {
        self.id = id
        self.data = data
        self.version = version
        self.links = links
    }
}

public enum ContactRules {
    /// Fields copied from a lead to the contact it converts into.
    public static let personFields = ["name", "email", "phone", "company", "title"]

    /// `contact.add`: a new contact, or the existing one unchanged (one CRM instance per subject).
    /// `links` name the records (`lead:<id>`) the contact belongs to.
    public static func add(id: String, data: [String: FieldValue], links: [String] = [], existing: ContactRecord?) -> (ContactRecord, created: Bool) {
        if let existing { return (existing, false) }
        return (ContactRecord(id: id, data: data.filter { $0.value != .null }, version: 1, links: links), true)
    }

    /// `contact.update`: applies changes (null clears), reporting old and new values.
    public static func update(_ contact: ContactRecord, changes: [String: FieldValue], expectedVersion: Int?) throws(DomainRejection) -> (ContactRecord, [FieldChange]) {
        if let expectedVersion, expectedVersion != contact.version {
            throw DomainRejection(code: "conflict", message: "the contact is at version \(contact.version), not \(expectedVersion); read it again", field: "payload.expectedVersion")
        }
        var updated = contact
        var applied: [FieldChange] = []
        for key in changes.keys.sorted() {
            let old = contact.data[key] ?? .null
            let new = changes[key]!
            guard old != new else { continue }
            applied.append(FieldChange(field: key, old: old, new: new))
            if new == .null { updated.data.removeValue(forKey: key) } else { updated.data[key] = new }
        }
        if !applied.isEmpty { updated.version += 1 }
        return (updated, applied)
    }
}

/// Converting a lead (FUN-CRM-0282): in one change the lead takes its `convert` transition, an
/// opportunity starts on the tenant's opportunity definition with the lead's data that it declares,
/// and a contact is made (or linked) from the lead's person fields. The new records take the lead's id.
public struct Conversion: Sendable, Hashable {
    public let lead: StageChange
    public let opportunity: PipelineRecord
    public let contact: ContactRecord
    public let contactCreated: Bool
    /// For an existing contact that gained links: its links before (its links now are `contact.links`).
    public let linksBefore: [String]?
}

extension String {
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}

extension RecordRules {
    public static let convertAction = "convert"

    public static func convert(_ lead: PipelineRecord, expectedVersion: Int?, leadDefinition: CompiledDefinition,
                               opportunityDefinition: CompiledDefinition?, existingOpportunity: PipelineRecord?, existingContact: ContactRecord?,
                               now: Double, actor: String, registry: ExtensionRegistry = .empty) throws(DomainRejection) -> Conversion {
        let moved = try apply(lead, action: convertAction, expectedVersion: expectedVersion, definition: leadDefinition, now: now, actor: actor, registry: registry)
        guard let opportunityDefinition else {
            throw DomainRejection(code: "unknown_definition", message: "converting needs an opportunity definition; publish one first", field: "payload.action")
        }
        guard existingOpportunity == nil else {
            throw DomainRejection(code: "already_exists", message: "an opportunity '\(lead.id)' exists already", field: "payload.leadId")
        }
        let declared = Set(opportunityDefinition.source.fields.map(\.name))
        let data = declared.isEmpty ? lead.data : lead.data.filter { declared.contains($0.key) }
        if let problem = FieldValidation.validate(data, rules: opportunityDefinition.source.fields, partial: false) {
            let field = problem.field.map { " (lead \($0.replacingPrefix("payload.", with: "")))" } ?? ""
            throw DomainRejection(code: "invalid_payload", message: "the lead's data does not make a valid opportunity: \(problem.message)\(field)", field: "payload.action")
        }
        let opportunity = PipelineRecord(id: lead.id, stage: opportunityDefinition.initialStage, definitionVersion: opportunityDefinition.version,
                                         data: data, version: 1)
        var contact = existingContact ?? ContactRecord(id: lead.id, data: lead.data.filter { ContactRules.personFields.contains($0.key) }, version: 0)
        let before = contact.links
        for link in ["lead:\(lead.id)", "opportunity:\(lead.id)"] where !contact.links.contains(link) { contact.links.append(link) }
        // A new contact, or an existing one that gains links, is written (and its version moves); an
        // existing one already linked is left as it is.
        let contactChanged = existingContact == nil || contact.links != before
        if contactChanged { contact.version += 1 }
        return Conversion(lead: moved, opportunity: opportunity, contact: contact, contactCreated: existingContact == nil,
                          linksBefore: contactChanged && existingContact != nil ? before : nil)
    }
}
