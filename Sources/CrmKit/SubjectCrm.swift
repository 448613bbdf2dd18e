public import Contracts
public import CrmCore
public import CrmRedis
public import Foundation
import RedisClient

/// One subject's CRM (Level 1): its lead (an opportunity once converted), its contacts, what its
/// actor may do, and its history. Every change goes through the engine as a command, so the rules,
/// RBAC, events and audit are those of the services, in-process or not.
public struct SubjectCrm: Sendable {
    public let engine: CrmEngine
    /// The subject's record id (its lead's, and its opportunity's once converted).
    public let id: String
    let contactFields: [FieldRule]
    let leadDefinition: PipelineDefinition
    let leadData: [String: FieldValue]

    /// The subject's lead, created on first use (once per subject, whoever calls first). A tenant
    /// with no lead definition yet gets the app's `crmLeadDefinition`.
    @discardableResult
    public func lead() async throws -> PipelineRecord {
        if let lead = try await engine.store.record(shard: engine.shard, tenant: engine.tenant, entity: .lead, id: id) { return lead }
        try await ensureDefinition(leadDefinition)
        try await engine.send(MessageType.leadCreate, ["leadId": .string(id), "data": JSONValue(leadData)])
        return try await required(.lead)
    }

    /// The opportunity the lead was converted into, if it was.
    public func opportunity() async throws -> PipelineRecord? {
        try await engine.store.record(shard: engine.shard, tenant: engine.tenant, entity: .opportunity, id: id)
    }

    /// Takes an action (`qualify`, `convert`, `close_won`, any the definition names) on the subject's
    /// opportunity once it has one, else on its lead. Returns the subject's current record afterwards
    /// (the new opportunity after `convert`).
    @discardableResult
    public func apply(_ action: String, expectedVersion: Int? = nil) async throws -> PipelineRecord {
        let (entity, _) = try await current()
        if entity == .lead, action == RecordRules.convertAction { try await ensureDefinition(StandardPipelines.opportunity) }
        var payload: [String: JSONValue] = ["\(entity.rawValue)Id": .string(id), "action": .string(action)]
        if let expectedVersion { payload["expectedVersion"] = .integer(Int64(expectedVersion)) }
        try await engine.send("\(entity.rawValue).apply", .object(payload))
        return try await current().1
    }

    /// Changes fields of the current record (null clears one); the definition's field rules apply.
    @discardableResult
    public func update(_ changes: [String: FieldValue], expectedVersion: Int? = nil) async throws -> PipelineRecord {
        let (entity, _) = try await current()
        var payload: [String: JSONValue] = ["\(entity.rawValue)Id": .string(id), "data": JSONValue(changes)]
        if let expectedVersion { payload["expectedVersion"] = .integer(Int64(expectedVersion)) }
        try await engine.send("\(entity.rawValue).update", .object(payload))
        return try await required(entity)
    }

    /// Adds a contact to the subject after checking it against the contact fields declared in code.
    /// The same `contactID` twice is one contact.
    @discardableResult
    public func addContact(_ data: [String: FieldValue], contactID: String? = nil) async throws -> ContactRecord {
        if let problem = FieldValidation.validate(data, rules: contactFields, partial: false) {
            throw CrmKitError.invalidField(field: (problem.field ?? "data").replacingOccurrences(of: "payload.", with: ""), message: problem.message)
        }
        try await lead()
        let contactID = contactID ?? "C-\(UUID().uuidString.lowercased())"
        try await engine.send(MessageType.contactAdd, ["contactId": .string(contactID), "data": JSONValue(data), "links": [.string("lead:\(id)")]])
        guard let contact = try await engine.store.contact(shard: engine.shard, tenant: engine.tenant, id: contactID) else {
            throw CrmKitError.rejected(commandType: MessageType.contactAdd, code: "not_found", message: "contact '\(contactID)' was accepted but cannot be read", field: nil)
        }
        return contact
    }

    /// The subject's contacts (added to it, or made by converting its lead), by id.
    public func contacts() async throws -> [ContactRecord] {
        let store = engine.store
        var ids = Set(try await store.linkedContacts(shard: engine.shard, tenant: engine.tenant, entity: "lead", id: id))
        ids.formUnion(try await store.linkedContacts(shard: engine.shard, tenant: engine.tenant, entity: "opportunity", id: id))
        let sorted = ids.sorted()
        let documents = try await store.fields(sorted.map { HashRead(engine.shard.record(tenant: engine.tenant, entity: "contact", id: $0), ["d"]) })
        return try documents.compactMap { try $0[0].map { try CrmStore.decode(ContactRecord.self, $0) } }
    }

    /// Whether the engine's actor may take `action` (or `create`, `update`) on the subject's current
    /// record, by the roles the tenant's directory gives it under the record's definition version.
    public func can(_ action: String) async throws -> Bool {
        let store = engine.store
        let (entity, record) = try await current()
        guard let definition = try await store.definition(shard: engine.shard, tenant: engine.tenant, entity: entity, version: record.definitionVersion) else {
            return false
        }
        let user = try await store.directory(shard: engine.shard, tenant: engine.tenant, user: engine.actor).user
        return Authorization.can(actor: engine.actor, user: user, permission: action, definition: definition.source)
    }

    /// What happened to the subject's lead and opportunity, oldest first, from the audit trail (the
    /// services append to it asynchronously: a change shows up there shortly after it is accepted).
    public func history() async throws -> [CrmHistoryEntry] {
        let lead = try await engine.backend.history(tenant: engine.tenant, subject: AuditSubject(entity: "lead", id: id))
        let opportunity = try await engine.backend.history(tenant: engine.tenant, subject: AuditSubject(entity: "opportunity", id: id))
        // Timestamps are RFC 3339 in UTC with fixed precision, so text order is time order; the sort is stable.
        return (lead + opportunity).enumerated().sorted { ($0.element.occurredAt, $0.offset) < ($1.element.occurredAt, $1.offset) }
            .map { CrmHistoryEntry(envelope: $0.element) }
    }

    /// Escalates the subject's current record after `delay` (DESIGN §4 escalation): a durable timer of
    /// sla-timer-service that, when it fires, emits `record.escalated` (level 1, notify `to`), which the
    /// record's history shows. Needs the services (timers have no in-process form). Returns the timer id;
    /// cancel it with `timer.cancel`.
    @discardableResult
    public func escalateAfter(_ delay: Duration, to target: String = "manager", reason: String? = nil) async throws -> String {
        let (entity, _) = try await current()
        let seconds = max(0.001, delay.seconds)
        let after = "PT" + String(format: "%.3f", seconds).replacingOccurrences(of: ".000", with: "") + "S"
        let timerID = "esc-\(entity.rawValue)-\(id.prefix(80))-\(UUID().uuidString.prefix(8).lowercased())"
        var data: [String: JSONValue] = ["escalate": .string("\(entity.rawValue):\(id)"), "to": .string(target)]
        if let reason { data["reason"] = .string(reason) }
        try await engine.send(MessageType.timerSchedule, ["timerId": .string(timerID), "after": .string(after), "data": .object(data)])
        return timerID
    }

    /// Hands the engine's actor's work to `user` from now until `until` (DESIGN §4 delegation): while it
    /// lasts, new assignments and approval votes for the actor go to `user`. Returns the delegation's id.
    @discardableResult
    public func delegateTo(_ user: String, until: Date, from: Date = Date()) async throws -> String {
        let (entity, _) = try await current()
        let id = "D-\(UUID().uuidString.lowercased())"
        try await engine.send(MessageType.delegationSet, [
            "delegationId": .string(id), "delegator": .string(engine.actor), "delegatee": .string(user),
            "from": .string(Envelope.timestamp(from)), "until": .string(Envelope.timestamp(until)), "scope": [.string(entity.rawValue)],
        ])
        return id
    }

    /// Assigns the subject's current record to `user` (through their active delegations).
    @discardableResult
    public func assign(to user: String) async throws -> RecordAssignment {
        try await assign(["strategy": "manual", "assignee": .string(user)])
    }

    /// Assigns the subject's current record within `team` by `strategy` (`round_robin`, `least_loaded`
    /// or a registered one).
    @discardableResult
    public func assign(team: String, strategy: String = "round_robin") async throws -> RecordAssignment {
        try await assign(["strategy": .string(strategy), "team": .string(team)])
    }

    /// Who the subject's current record is assigned to, if anyone.
    public func assignment() async throws -> RecordAssignment? {
        let (entity, _) = try await current()
        let key = engine.shard.assignment(tenant: engine.tenant, entity: entity.rawValue, id: id)
        return try await engine.store.fields([HashRead(key, ["d"])])[0][0].map { try CrmStore.decode(RecordAssignment.self, $0) }
    }

    private func assign(_ request: [String: JSONValue]) async throws -> RecordAssignment {
        let (entity, _) = try await current()
        try await engine.send(MessageType.assignmentRequest, .object(request.merging(["subject": .string("\(entity.rawValue):\(id)")]) { $1 }))
        guard let assignment = try await assignment() else {
            throw CrmKitError.rejected(commandType: MessageType.assignmentRequest, code: "not_found", message: "the assignment was accepted but cannot be read", field: nil)
        }
        return assignment
    }

    /// The record actions apply to: the opportunity once there is one, else the lead (started if new).
    private func current() async throws -> (EntityKind, PipelineRecord) {
        if let opportunity = try await opportunity() { return (.opportunity, opportunity) }
        return (.lead, try await lead())
    }

    private func required(_ entity: EntityKind) async throws -> PipelineRecord {
        guard let record = try await engine.store.record(shard: engine.shard, tenant: engine.tenant, entity: entity, id: id) else {
            throw CrmKitError.rejected(commandType: "\(entity.rawValue).create", code: "not_found",
                                       message: "\(entity.rawValue) '\(id)' was accepted but cannot be read", field: nil)
        }
        return record
    }

    /// Publishes `definition` unless the tenant already has one for its entity (a tenant's own, Level 2, wins).
    private func ensureDefinition(_ definition: PipelineDefinition) async throws {
        guard try await engine.store.latestDefinitionVersion(shard: engine.shard, tenant: engine.tenant, entity: definition.entity) == 0 else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try await engine.send(MessageType.definitionPublish, try JSONValue.parse(Array(try encoder.encode(definition))))
    }
}

/// One entry of a subject's history: an event or a command's outcome, as the audit trail holds it.
public struct CrmHistoryEntry: Sendable {
    public let envelope: Envelope
    public var type: String { envelope.type }
    public var actor: String { envelope.actor }
    public var occurredAt: String { envelope.occurredAt }
    public var payload: JSONValue { envelope.payload }
}
