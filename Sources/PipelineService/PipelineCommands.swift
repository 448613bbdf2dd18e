public import Contracts
public import CrmCore
public import CrmRedis
import Foundation
public import Logging
import ServiceKit

/// What pipeline-service does with a command, on any storage: read, decide with CrmCore, commit the
/// decision atomically (deciding again when a record changed meanwhile). The service runs it on Redis;
/// the Level 1 API runs the same code in-process.
public struct PipelineCommands: Sendable {
    /// The pipeline's command types.
    public static let types = Set([MessageType.definitionPublish, MessageType.fieldsConfigure, MessageType.contactAdd,
                                   MessageType.contactUpdate, MessageType.interactionLog] + RecordCommand.allTypes + MessageType.flowCommands)
    /// The events it reacts to, read from the events stream: integration results (the saga
    /// coordinator) and SLA breaches and escalations (their `notify` actions).
    public static let reactions = Set([MessageType.integrationSucceeded, MessageType.integrationFailed, MessageType.integrationCompensated,
                                       MessageType.slaBreached, MessageType.recordEscalated])
    let store: CrmStore
    let committer: CommandCommitter
    let logger: Logger

    public init(storage: any CrmStorage, extensions: ExtensionRegistry = .empty, policy: CommitPolicy = .init(), logger: Logger) {
        self.store = CrmStore(storage: storage, registry: extensions)
        self.committer = CommandCommitter(storage: storage, group: "pipeline", policy: policy)
        self.logger = logger
    }

    /// Decides and commits one command; with `acknowledging`, its stream entry is acknowledged in the same step.
    @discardableResult
    public func execute(_ command: Envelope, shard: ShardKeys, acknowledging entry: (stream: String, entryID: String)? = nil) async throws -> CommittedOutcome {
        try await committer.decideAndCommit(command, shard: shard, acknowledging: entry, logger: logger) {
            if command.kind == .event { return try await react(command, shard: shard) }
            return try await decide(command, shard: shard)
        }
    }

    private func decide(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        switch command.type {
        case MessageType.definitionPublish: return try await publishDefinition(command, shard: shard)
        case MessageType.fieldsConfigure: return try await configureFields(command, shard: shard)
        case MessageType.interactionLog: return try await logInteraction(command, shard: shard)
        case MessageType.contactAdd: return try await addContact(command, shard: shard)
        case MessageType.contactUpdate: return try await updateContact(command, shard: shard)
        case MessageType.branchComplete: return try await completeBranch(command, shard: shard)
        case MessageType.sagaAbort: return try await abortSaga(command, shard: shard)
        default: break
        }
        guard let kind = RecordCommand(type: command.type) else {
            throw PermanentFailure(reason: "unknown_type", detail: "pipeline-service does not handle \(command.type)")
        }
        switch kind.verb {
        case .create: return try await create(command, kind, shard: shard)
        case .update: return try await update(command, kind, shard: shard)
        case .apply: return try await apply(command, kind, shard: shard)
        }
    }

    private func publishDefinition(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let draft = try PayloadMapping.definition(command.payload)
        let directory = try await store.directory(shard: shard, tenant: command.tenant, user: command.actor)
        if let refusal = Authorization.checkAdministration(actor: command.actor, user: directory.user, directoryExists: directory.exists) {
            throw Rejection(.forbidden, refusal.message)
        }
        let latest = try await store.latestDefinitionVersion(shard: shard, tenant: command.tenant, entity: draft.entity)
        let compiled: CompiledDefinition
        do {
            compiled = try CompiledDefinition.compile(draft, version: latest + 1, registry: store.registry)
        } catch {
            let first = error.problems.first?.path
            throw Rejection(.invalidDefinition, "the definition has \(error.problems.count) problem(s): \(error)", field: first.map { "payload.\($0)" })
        }
        let event = command.event(type: MessageType.definitionPublished, payload: [
            "entity": .string(draft.entity.rawValue), "name": .string(draft.name),
            "definitionVersion": .integer(Int64(compiled.version)),
            "stages": .array(compiled.stageNames.map(JSONValue.string)), "initialStage": .string(compiled.initialStage),
        ])
        return CommandDecision(writes: [CrmStore.definitionWrite(shard: shard, tenant: command.tenant, definition: compiled)], events: [event],
                        outcome: CommandOutcome.accepted(command, events: [event], recordVersion: compiled.version))
    }

    private func create(_ command: Envelope, _ kind: RecordCommand, shard: ShardKeys) async throws -> CommandDecision {
        let request = try PayloadMapping.createRecord(command.payload, kind: kind)
        let (existing, definition, custom) = try await store.creationContext(shard: shard, tenant: command.tenant, entity: kind.entity,
                                                                             id: request.recordID, definitionVersion: request.definitionVersion)
        let creation: RecordCreation
        do {
            creation = try RecordRules.create(request, existing: existing, definition: definition, custom: custom)
        } catch {
            throw Rejection(error)
        }
        if case .created = creation, let definition {
            try await authorize(command, permission: "create", definition: definition, shard: shard)
        }
        switch creation {
        case .existing(let record):
            return CommandDecision(writes: [], events: [], outcome: CommandOutcome.accepted(command, events: [], recordID: record.id, recordVersion: record.version))
        case .created(let created):
            let event = command.event(type: kind.eventType("created"), payload: [
                .init(kind.idField): .string(created.id), "stage": .string(created.stage), "definitionVersion": .integer(Int64(created.definitionVersion)),
                "recordVersion": .integer(Int64(created.version)), "data": PayloadMapping.json(created.data),
            ])
            guard let definition else { throw Rejection(.internal, "a record was created without its definition") }
            let (record, flow) = afterDataChange(created, entity: kind.entity, definition: definition, command: command, shard: shard)
            let events = [event] + flow.events
            return CommandDecision(writes: [CrmStore.recordWrite(shard: shard, tenant: command.tenant, entity: kind.entity, record: record, definition: definition, at: command.occurredAt)], events: events,
                                   outcome: CommandOutcome.accepted(command, events: events, recordID: record.id, recordVersion: record.version),
                                   commands: flow.commands)
        }
    }

    /// Refuses with `forbidden` unless the actor's roles (from the tenant's directory, never from the
    /// message) allow `permission` under the definition.
    func authorize(_ command: Envelope, permission: String, definition: CompiledDefinition, shard: ShardKeys) async throws {
        guard !definition.source.permissions.isEmpty else { return }
        let directory = try await store.directory(shard: shard, tenant: command.tenant, user: command.actor)
        if let refusal = Authorization.check(actor: command.actor, user: directory.user, permission: permission, definition: definition.source) {
            throw Rejection(.forbidden, refusal.message)
        }
    }

    /// The record, the definition version it started with and the tenant's custom fields; `not_found`
    /// when there is no such record.
    func existing(_ id: String, _ kind: RecordCommand, command: Envelope, shard: ShardKeys) async throws -> (PipelineRecord, CompiledDefinition, CustomFields) {
        let (found, custom) = try await store.recordWithCustomFields(shard: shard, tenant: command.tenant, entity: kind.entity, id: id)
        guard let record = found else {
            throw Rejection(.notFound, "tenant '\(command.tenant)' has no \(kind.entity.rawValue) '\(id)'", field: "payload.\(kind.idField)")
        }
        guard let definition = try await store.definition(shard: shard, tenant: command.tenant, entity: kind.entity, version: record.definitionVersion) else {
            throw Rejection(.internal, "definition version \(record.definitionVersion) of \(kind.entity.rawValue) '\(id)' is missing")
        }
        return (record, definition, custom)
    }

    private func update(_ command: Envelope, _ kind: RecordCommand, shard: ShardKeys) async throws -> CommandDecision {
        let request = try PayloadMapping.update(command.payload, idField: kind.idField)
        let (record, definition, custom) = try await existing(request.id, kind, command: command, shard: shard)
        try await authorize(command, permission: "update", definition: definition, shard: shard)
        let (updated, changes): (PipelineRecord, [FieldChange])
        do {
            (updated, changes) = try RecordRules.update(record, changes: request.changes, expectedVersion: request.expectedVersion, definition: definition, custom: custom)
        } catch {
            throw Rejection(error)
        }
        guard !changes.isEmpty else {
            return CommandDecision(writes: [], events: [], outcome: CommandOutcome.accepted(command, events: [], recordID: record.id, recordVersion: record.version))
        }
        let event = command.event(type: kind.eventType("updated"), payload: [
            .init(kind.idField): .string(record.id), "recordVersion": .integer(Int64(updated.version)),
            "changes": .array(changes.map { ["field": .string($0.field), "old": PayloadMapping.json($0.old), "new": PayloadMapping.json($0.new)] }),
        ])
        let (routed, flow) = afterDataChange(updated, entity: kind.entity, definition: definition, command: command, shard: shard)
        let events = [event] + flow.events
        return CommandDecision(writes: [CrmStore.recordWrite(shard: shard, tenant: command.tenant, entity: kind.entity, record: routed, definition: definition, at: command.occurredAt)], events: events,
                               outcome: CommandOutcome.accepted(command, events: events, recordID: record.id, recordVersion: routed.version),
                               commands: flow.commands)
    }

    private func apply(_ command: Envelope, _ kind: RecordCommand, shard: ShardKeys) async throws -> CommandDecision {
        let request = try PayloadMapping.applyToRecord(command.payload, kind: kind)
        let (record, definition, _) = try await existing(request.id, kind, command: command, shard: shard)
        try await authorize(command, permission: request.action, definition: definition, shard: shard)
        if kind.entity == .lead, request.action == RecordRules.convertAction {
            return try await convert(command, lead: record, definition: definition, expectedVersion: request.expectedVersion, shard: shard)
        }
        if let run = record.flow {
            throw Rejection(.invalidTransition, "a campaign (\(run.gateway), \(run.status.rawValue)) runs on '\(record.id)': complete its branches (branch.complete) or abort it (saga.abort) first",
                            field: "payload.action")
        }
        let change: StageChange
        do {
            // Expressions see the command's time, so a replay decides alike.
            let now = RFC3339.seconds(command.occurredAt) ?? 0
            change = try RecordRules.apply(record, action: request.action, expectedVersion: request.expectedVersion, definition: definition, now: now,
                                           actor: command.actor, registry: store.registry)
        } catch {
            throw Rejection(error)
        }
        let event = command.event(type: kind.eventType("stage_changed"), payload: [
            .init(kind.idField): .string(record.id), "action": .string(change.action), "from": .string(change.from), "to": .string(change.to),
            "recordVersion": .integer(Int64(change.record.version)),
        ])
        let (entered, flow) = enter(change.record, from: change.from, entity: kind.entity, definition: definition, cause: command, shard: shard)
        var writes = [CrmStore.recordWrite(shard: shard, tenant: command.tenant, entity: kind.entity, record: entered, definition: definition, at: command.occurredAt)]
        if let approval = try await approvalUse(for: change, entity: kind.entity, definition: definition, command: command, shard: shard) { writes.append(approval) }
        if let queue = try await queueUpdate(for: change, entity: kind.entity, definition: definition, tenant: command.tenant, shard: shard) { writes.append(queue) }
        let events = [event] + flow.events
        return CommandDecision(writes: writes, events: events,
                               outcome: CommandOutcome.accepted(command, events: events, recordID: record.id, recordVersion: change.record.version),
                               commands: flow.commands, afterCommit: afterHooks(for: change))
    }

    /// After a record's data changed (or it was created): the first automatic transition from its
    /// stage whose condition holds routes it (conditional routing, one step), and the stage it
    /// enters may fork a gateway. The record's version moves once for the whole command.
    func afterDataChange(_ record: PipelineRecord, entity: EntityKind, definition: CompiledDefinition, command: Envelope,
                         shard: ShardKeys) -> (PipelineRecord, FlowOutput) {
        var output = FlowOutput()
        var current = record
        let now = RFC3339.seconds(command.occurredAt) ?? 0
        if current.flow == nil {
            let actions = definition.source.transitions.filter { $0.automatic && $0.from.contains(record.stage) }.map(\.action)
            var tried: Set<String> = []
            for action in actions where tried.insert(action).inserted {
                guard let change = try? RecordRules.apply(current, action: action, expectedVersion: nil, definition: definition, now: now,
                                                          actor: command.actor, registry: store.registry) else { continue }
                current = change.record
                current.version = record.version
                output.events.append(command.event(type: "\(entity.rawValue).stage_changed", payload: [
                    "\(entity.rawValue)Id": .string(record.id), "action": .string(action), "from": .string(change.from), "to": .string(change.to),
                    "recordVersion": .integer(Int64(current.version)), "automatic": true,
                ]))
                break
            }
        }
        if current.stage != record.stage || (record.version == 1 && definition.gateway(at: record.stage) != nil && record.flow == nil) {
            let (entered, flow) = enter(current, from: record.stage, entity: entity, definition: definition, cause: command, shard: shard)
            current = entered
            output.events += flow.events
            output.commands += flow.commands
        }
        return (current, output)
    }

    /// For a transition that requires an approval: the write that uses up the record's approved
    /// approval of the action; `approval_required` when there is none.
    private func approvalUse(for change: StageChange, entity: EntityKind, definition: CompiledDefinition, command: Envelope,
                             shard: ShardKeys) async throws -> RecordWrite? {
        let guarded = definition.source.transitions.contains {
            $0.requiresApproval && $0.action == change.action && $0.from.contains(change.from) && $0.to == change.to
        }
        guard guarded else { return nil }
        let key = shard.approvals(tenant: command.tenant, entity: entity.rawValue, id: change.record.id)
        let read = try await store.fields([HashRead(key, ["v", "a:\(change.action)"])])[0]
        let state = read[1].map { String(decoding: $0, as: UTF8.self) } ?? ""
        guard state.hasPrefix("approved:") else {
            let why = state.hasPrefix("pending:") ? "approval \(state.dropFirst(8)) is still pending"
                : "request one with approval.request (subject \(entity.rawValue):\(change.record.id), action \(change.action))"
            throw Rejection(.approvalRequired, "'\(change.action)' needs an approved approval: \(why)", field: "payload.action")
        }
        let version = CrmStore.integer(read[0])
        return RecordWrite(key: key, expectedVersion: version, newVersion: version + 1,
                           fields: [("a:\(change.action)", Array("applied:\(state.dropFirst(9))".utf8))])
    }

    /// A record that closes (reaches a terminal stage) or reopens leaves or re-enters its assignee's
    /// open count, which least-loaded assignment reads; in the same commit as the stage change.
    private func queueUpdate(for change: StageChange, entity: EntityKind, definition: CompiledDefinition, tenant: String,
                             shard: ShardKeys) async throws -> RecordWrite? {
        func terminal(_ stage: String) -> Bool { definition.source.stages.first { $0.name == stage }?.terminal != nil }
        let closes = terminal(change.to) && !terminal(change.from)
        let reopens = terminal(change.from) && !terminal(change.to)
        guard closes || reopens else { return nil }
        let subject = "\(entity.rawValue):\(change.record.id)"
        guard let bytes = try await store.fields([HashRead(shard.assignment(tenant: tenant, entity: entity.rawValue, id: change.record.id), ["d"])])[0][0]
        else { return nil }
        let assignee = try CrmStore.decode(RecordAssignment.self, bytes).assignee
        let key = shard.queue(tenant: tenant, user: assignee)
        let read = try await store.fields([HashRead(key, ["v", "n", "r:\(subject)"])])[0]
        guard let entryBytes = read[2], !entryBytes.isEmpty else { return nil }
        var entry = try CrmStore.decode(QueueEntry.self, entryBytes)
        guard entry.open == closes else { return nil }
        let (version, open) = (CrmStore.integer(read[0]), CrmStore.integer(read[1]))
        entry.open = reopens
        return RecordWrite(key: key, expectedVersion: version, newVersion: version + 1,
                           fields: [("n", Array(String(max(0, open + (reopens ? 1 : -1))).utf8)), ("r:\(subject)", CrmStore.document(entry))])
    }

    /// The transition's registered after hooks, to run once the change is committed.
    private func afterHooks(for change: StageChange) -> (@Sendable () async -> Void)? {
        let hooks: [ExtensionRegistry.AfterHook] = change.afterHooks.compactMap { store.registry.afterHooks[$0] }
        guard !hooks.isEmpty else { return nil }
        return { @Sendable in
            for hook in hooks { await hook(change) }
        }
    }
}

extension PipelineCommands {
    /// `lead.apply` with `convert`: the lead, a new opportunity and its contact, in one atomic commit.
    func convert(_ command: Envelope, lead: PipelineRecord, definition: CompiledDefinition, expectedVersion: Int?, shard: ShardKeys) async throws -> CommandDecision {
        let tenant = command.tenant
        async let opportunityDefinition = store.definition(shard: shard, tenant: tenant, entity: .opportunity, version: nil)
        async let existingOpportunity = store.record(shard: shard, tenant: tenant, entity: .opportunity, id: lead.id)
        async let existingContact = store.contact(shard: shard, tenant: tenant, id: lead.id)
        let (opportunityDefinitionValue, existingOpportunityValue, existingContactValue) = try await (opportunityDefinition, existingOpportunity, existingContact)
        let conversion: Conversion
        do {
            conversion = try RecordRules.convert(lead, expectedVersion: expectedVersion, leadDefinition: definition, opportunityDefinition: opportunityDefinitionValue,
                                                 existingOpportunity: existingOpportunityValue, existingContact: existingContactValue,
                                                 now: RFC3339.seconds(command.occurredAt) ?? 0, actor: command.actor, registry: store.registry)
        } catch {
            throw Rejection(error)
        }
        let moved = conversion.lead
        let opportunity = conversion.opportunity
        let contact = conversion.contact
        var events = [
            command.event(type: MessageType.leadStageChanged, payload: [
                "leadId": .string(lead.id), "action": .string(moved.action), "from": .string(moved.from), "to": .string(moved.to),
                "recordVersion": .integer(Int64(moved.record.version)),
            ]),
            command.event(type: MessageType.opportunityCreated, payload: [
                "opportunityId": .string(opportunity.id), "stage": .string(opportunity.stage), "definitionVersion": .integer(Int64(opportunity.definitionVersion)),
                "recordVersion": .integer(1), "data": PayloadMapping.json(opportunity.data),
            ]),
        ]
        if conversion.contactCreated {
            events.append(command.event(type: MessageType.contactAdded, payload: [
                "contactId": .string(contact.id), "recordVersion": .integer(Int64(contact.version)), "data": PayloadMapping.json(contact.data),
            ]))
        } else if let before = conversion.linksBefore {
            events.append(command.event(type: MessageType.contactUpdated, payload: [
                "contactId": .string(contact.id), "recordVersion": .integer(Int64(contact.version)),
                "changes": [["field": "links", "old": .array(before.map(JSONValue.string)), "new": .array(contact.links.map(JSONValue.string))]],
            ]))
        }
        events.append(command.event(type: MessageType.leadConverted, payload: [
            "leadId": .string(lead.id), "opportunityId": .string(opportunity.id), "contactId": .string(contact.id),
        ]))
        var writes = [
            CrmStore.recordWrite(shard: shard, tenant: tenant, entity: .lead, record: moved.record, definition: definition, at: command.occurredAt),
            CrmStore.recordWrite(shard: shard, tenant: tenant, entity: .opportunity, record: opportunity, definition: opportunityDefinitionValue,
                                at: command.occurredAt),
        ]
        if conversion.contactCreated || conversion.linksBefore != nil {
            writes.append(CrmStore.contactWrite(shard: shard, tenant: tenant, contact: contact))
            writes += CrmStore.contactLinkWrites(shard: shard, tenant: tenant, contactID: contact.id, links: ["lead:\(lead.id)", "opportunity:\(lead.id)"])
        }
        return CommandDecision(writes: writes, events: events, outcome: CommandOutcome.accepted(command, events: events, recordID: lead.id, recordVersion: moved.record.version),
                               afterCommit: afterHooks(for: moved))
    }

    /// `interaction.log`: a call, email, meeting or note against one of the tenant's records, its files
    /// stored once each under their SHA-256 and described in the interaction, all in one commit.
    func logInteraction(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let request = try PayloadMapping.interaction(command.payload)
        let directory = try await store.directory(shard: shard, tenant: command.tenant, user: command.actor)
        if let refusal = Authorization.checkMember(actor: command.actor, user: directory.user, directoryExists: directory.exists) {
            throw Rejection(.forbidden, refusal.message)
        }
        if let existing = try await store.interaction(shard: shard, tenant: command.tenant, id: request.id) {
            return CommandDecision(writes: [], events: [], outcome: CommandOutcome.accepted(command, events: [], recordID: existing.id, recordVersion: 1))
        }
        guard try await store.exists(shard: shard, tenant: command.tenant, entity: request.subjectEntity, id: request.subjectID) else {
            throw Rejection(.notFound, "tenant '\(command.tenant)' has no \(request.subjectEntity) '\(request.subjectID)'", field: "payload.subject")
        }
        var attachments: [Attachment] = []
        var writes: [RecordWrite] = []
        for (index, file) in request.files.enumerated() {
            if let problem = InteractionRules.check(name: file.name, contentType: file.contentType, size: file.bytes.count, index: index) {
                throw Rejection(problem)
            }
            let digest = Checksum.sha256(file.bytes)
            attachments.append(Attachment(name: file.name, contentType: file.contentType, size: file.bytes.count, sha256: digest))
            writes.append(CrmStore.blobWrite(shard: shard, tenant: command.tenant, sha256: digest, bytes: file.bytes))
        }
        let interaction = Interaction(id: request.id, kind: request.kind, subject: "\(request.subjectEntity):\(request.subjectID)", notes: request.notes,
                                      attachments: attachments, loggedBy: command.actor, loggedAt: command.occurredAt)
        writes.append(CrmStore.interactionWrite(shard: shard, tenant: command.tenant, interaction: interaction))
        // Built at version 2; the commit writes the version CRM_EMIT_VERSIONS asks for (1 until told).
        var event = command.event(type: MessageType.interactionLogged, payload: [
            "interactionId": .string(interaction.id), "kind": .string(interaction.kind.rawValue),
            "subjectEntity": .string(request.subjectEntity), "subjectId": .string(request.subjectID), "notes": .string(interaction.notes),
            "attachments": .array(attachments.map { ["name": .string($0.name), "contentType": .string($0.contentType), "size": .integer(Int64($0.size)), "sha256": .string($0.sha256)] }),
        ])
        event.version = 2
        return CommandDecision(writes: writes, events: [event], outcome: CommandOutcome.accepted(command, events: [event], recordID: interaction.id, recordVersion: 1))
    }

    /// `fields.configure`: a tenant's own fields for an entity, checked on every write from then on.
    func configureFields(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let request = try PayloadMapping.configureFields(command.payload)
        let directory = try await store.directory(shard: shard, tenant: command.tenant, user: command.actor)
        if let refusal = Authorization.checkAdministration(actor: command.actor, user: directory.user, directoryExists: directory.exists) {
            throw Rejection(.forbidden, refusal.message)
        }
        let (current, version) = try await store.customFields(shard: shard, tenant: command.tenant, entity: request.entity)
        let definition = try await store.definition(shard: shard, tenant: command.tenant, entity: request.entity, version: nil)
        let configured: CustomFields
        do {
            configured = try current.configured(adding: request.add, removing: request.remove, definitionFields: definition?.source.fields ?? [])
        } catch {
            throw Rejection(error)
        }
        let event = command.event(type: MessageType.fieldsConfigured, payload: [
            "entity": .string(request.entity.rawValue), "fieldsVersion": .integer(Int64(version + 1)),
            "fields": .array(configured.fields.map { .string($0.name) }), "removed": .array(configured.removed.map(JSONValue.string)),
        ])
        return CommandDecision(writes: [CrmStore.customFieldsWrite(shard: shard, tenant: command.tenant, entity: request.entity, fields: configured, currentVersion: version)],
                               events: [event], outcome: CommandOutcome.accepted(command, events: [event], recordVersion: version + 1))
    }

    func addContact(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let (id, data, links) = try PayloadMapping.contact(command.payload)
        let (existing, directoryExists, user) = try await store.contactAndActor(shard: shard, tenant: command.tenant, id: id, actor: command.actor)
        if let refusal = Authorization.checkMember(actor: command.actor, user: user, directoryExists: directoryExists) {
            throw Rejection(.forbidden, refusal.message)
        }
        let (contact, created) = ContactRules.add(id: id, data: data, links: links, existing: existing)
        guard created else {
            return CommandDecision(writes: [], events: [], outcome: CommandOutcome.accepted(command, events: [], recordID: id, recordVersion: contact.version))
        }
        // Every linked record must be the tenant's: one round trip for all of them.
        let linked = links.map { $0.split(separator: ":", maxSplits: 1).map(String.init) }
        let found = try await store.fields(linked.map { HashRead(shard.record(tenant: command.tenant, entity: $0[0], id: $0[1]), ["v"]) })
        if let index = found.firstIndex(where: { $0[0] == nil }) {
            throw Rejection(.notFound, "tenant '\(command.tenant)' has no \(linked[index][0]) '\(linked[index][1])'", field: "payload.links[\(index)]")
        }
        var payload: [String: JSONValue] = ["contactId": .string(id), "recordVersion": .integer(1), "data": PayloadMapping.json(contact.data)]
        if !links.isEmpty { payload["links"] = .array(links.map(JSONValue.string)) }
        let event = command.event(type: MessageType.contactAdded, payload: .object(payload))
        let writes = [CrmStore.contactWrite(shard: shard, tenant: command.tenant, contact: contact)]
            + CrmStore.contactLinkWrites(shard: shard, tenant: command.tenant, contactID: id, links: links)
        return CommandDecision(writes: writes, events: [event], outcome: CommandOutcome.accepted(command, events: [event], recordID: id, recordVersion: 1))
    }

    func updateContact(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let request = try PayloadMapping.update(command.payload, idField: "contactId")
        let (found, directoryExists, user) = try await store.contactAndActor(shard: shard, tenant: command.tenant, id: request.id, actor: command.actor)
        if let refusal = Authorization.checkMember(actor: command.actor, user: user, directoryExists: directoryExists) {
            throw Rejection(.forbidden, refusal.message)
        }
        guard let contact = found else {
            throw Rejection(.notFound, "tenant '\(command.tenant)' has no contact '\(request.id)'", field: "payload.contactId")
        }
        let (updated, changes): (ContactRecord, [FieldChange])
        do {
            (updated, changes) = try ContactRules.update(contact, changes: request.changes, expectedVersion: request.expectedVersion)
        } catch {
            throw Rejection(error)
        }
        guard !changes.isEmpty else {
            return CommandDecision(writes: [], events: [], outcome: CommandOutcome.accepted(command, events: [], recordID: contact.id, recordVersion: contact.version))
        }
        let event = command.event(type: MessageType.contactUpdated, payload: [
            "contactId": .string(contact.id), "recordVersion": .integer(Int64(updated.version)),
            "changes": .array(changes.map { ["field": .string($0.field), "old": PayloadMapping.json($0.old), "new": PayloadMapping.json($0.new)] }),
        ])
        return CommandDecision(writes: [CrmStore.contactWrite(shard: shard, tenant: command.tenant, contact: updated)], events: [event],
                               outcome: CommandOutcome.accepted(command, events: [event], recordID: contact.id, recordVersion: updated.version))
    }
}

/// `lead.create`, `opportunity.apply`…: which entity and which verb a record command is.
struct RecordCommand: Sendable {
    enum Verb: String, CaseIterable { case create, update, apply }

    let entity: EntityKind
    let verb: Verb

    init(entity: EntityKind, verb: Verb) {
        self.entity = entity
        self.verb = verb
    }

    init?(type: String) {
        let parts = type.split(separator: ".")
        guard parts.count == 2, let entity = EntityKind(rawValue: String(parts[0])), let verb = Verb(rawValue: String(parts[1])) else { return nil }
        self.entity = entity
        self.verb = verb
    }

    /// The payload field naming the record: `leadId`, `opportunityId`.
    var idField: String { "\(entity.rawValue)Id" }

    func eventType(_ suffix: String) -> String { "\(entity.rawValue).\(suffix)" }

    static var allTypes: [String] { EntityKind.allCases.flatMap { entity in Verb.allCases.map { "\(entity.rawValue).\($0.rawValue)" } } }
}
