public import CrmCore

/// An app's type that has a CRM (Level 1): declare the fields of its contacts in code and get
/// `subject.crm()`. Each subject is one CRM instance, a lead with the subject's id; the pipeline it
/// follows is `crmLeadDefinition` until the tenant publishes its own (Level 2), with no code change.
///
/// ```swift
/// struct Account: HasCrm {
///     let id: String
///     var crmID: String { id }
///     static let crmContactFields = [FieldRule(name: "email", type: .email, required: true)]
/// }
/// try await CrmEngine.$current.withValue(engine) {
///     let crm = try account.crm()
///     try await crm.addContact(["email": "ada@example.com"])
///     try await crm.apply("qualify")
/// }
/// ```
public protocol HasCrm: Sendable {
    /// The id of this subject's CRM instance (its lead): letters, digits, `.`, `_`, `-`, at most 128.
    var crmID: String { get }
    /// What a contact of this subject must look like; checked before a contact is added.
    static var crmContactFields: [FieldRule] { get }
    /// The lead pipeline the tenant starts with when it has published none.
    static var crmLeadDefinition: PipelineDefinition { get }
    /// The data the subject's lead starts with.
    var crmLeadData: [String: FieldValue] { get }
}

extension HasCrm {
    public static var crmLeadDefinition: PipelineDefinition { StandardPipelines.lead }
    public var crmLeadData: [String: FieldValue] { [:] }

    /// This subject's CRM on `engine`.
    public func crm(in engine: CrmEngine) -> SubjectCrm {
        SubjectCrm(engine: engine, id: crmID, contactFields: Self.crmContactFields, leadDefinition: Self.crmLeadDefinition, leadData: crmLeadData)
    }

    /// This subject's CRM on the task's current engine (`CrmEngine.$current`).
    public func crm() throws(CrmKitError) -> SubjectCrm {
        guard let engine = CrmEngine.current else { throw CrmKitError.noEngine }
        return crm(in: engine)
    }
}

/// Pipelines an app gets without writing one.
public enum StandardPipelines {
    /// new → contacted → qualified → converted (to an opportunity), or disqualified; closed leads reopen.
    public static let lead = PipelineDefinition(
        entity: .lead, name: "Standard leads",
        stages: [
            StageDefinition(name: "new", label: "New", initial: true),
            StageDefinition(name: "contacted", label: "Contacted"),
            StageDefinition(name: "qualified", label: "Qualified"),
            StageDefinition(name: "converted", label: "Converted", terminal: .won),
            StageDefinition(name: "disqualified", label: "Disqualified", terminal: .lost),
        ],
        transitions: [
            TransitionDefinition(action: "contact", from: ["new"], to: "contacted"),
            TransitionDefinition(action: "qualify", from: ["new", "contacted"], to: "qualified"),
            TransitionDefinition(action: "disqualify", from: ["new", "contacted", "qualified"], to: "disqualified"),
            TransitionDefinition(action: "convert", from: ["qualified"], to: "converted"),
            TransitionDefinition(action: "reopen", from: ["disqualified"], to: "new"),
        ])

    /// open → negotiation → won or lost; lost deals reopen.
    public static let opportunity = PipelineDefinition(
        entity: .opportunity, name: "Standard deals",
        stages: [
            StageDefinition(name: "open", label: "Open", initial: true),
            StageDefinition(name: "negotiation", label: "Negotiation"),
            StageDefinition(name: "won", label: "Won", terminal: .won),
            StageDefinition(name: "lost", label: "Lost", terminal: .lost),
        ],
        transitions: [
            TransitionDefinition(action: "negotiate", from: ["open"], to: "negotiation"),
            TransitionDefinition(action: "close_won", from: ["open", "negotiation"], to: "won"),
            TransitionDefinition(action: "close_lost", from: ["open", "negotiation"], to: "lost"),
            TransitionDefinition(action: "reopen", from: ["lost"], to: "open"),
        ])
}
