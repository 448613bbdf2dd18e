public import Contracts
public import CrmCore
public import CrmRedis
import Logging
import RedisClient
public import ServiceKit

/// pipeline-service: definitions and records. Each command is read, decided by CrmCore and written
/// by one atomic commit; a conflicting concurrent write makes it read and decide again.
public struct PipelineHandler: SingleMessageHandler {
    public let group = "pipeline"
    public let catalog = MessageCatalog.v1.restricted(to: [MessageType.definitionPublish, MessageType.leadCreate, MessageType.leadUpdate, MessageType.leadApply])
    let store: CrmStore
    let committer: CommandCommitter
    let logger: Logger

    /// `extensions`: the Swift conditions and hooks this deployment registers for its definitions.
    public init(context: ServiceContext, extensions: ExtensionRegistry = .empty) {
        self.store = CrmStore(pool: context.pool, registry: extensions)
        let policy = CommitPolicy(idempotencyTTLSeconds: context.options.idempotencyTTLSeconds)
        self.committer = CommandCommitter(pool: context.pool, group: "pipeline", policy: policy)
        self.logger = context.logger
    }

    public func streams(of shard: ShardKeys) -> [String] { [shard.commands(.pipeline)] }

    /// Commands on one record keep their order and run concurrently with other records' commands; a
    /// definition change is a barrier for its tenant (what follows it may depend on it).
    public func ordering(of message: InboundMessage) -> Ordering {
        let tenant = message.envelope.tenant
        switch message.envelope.type {
        case MessageType.leadCreate, MessageType.leadUpdate, MessageType.leadApply:
            if let id = message.envelope.payload["leadId"]?.stringValue { return Ordering(scope: tenant, key: "lead/\(id)") }
            return Ordering(scope: tenant, key: "message/\(message.envelope.id)")
        default:
            return .barrier(tenant)
        }
    }

    public func handle(_ message: InboundMessage) async throws -> Bool {
        try await committer.decideAndCommit(message.envelope, shard: message.shard, acknowledging: (message.stream, message.entryID), logger: logger) {
            try await decide(message.envelope, shard: message.shard)
        }
        return true
    }

    private func decide(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        switch command.type {
        case MessageType.definitionPublish: return try await publishDefinition(command, shard: shard)
        case MessageType.leadCreate: return try await createLead(command, shard: shard)
        case MessageType.leadUpdate: return try await updateLead(command, shard: shard)
        case MessageType.leadApply: return try await applyToLead(command, shard: shard)
        default: throw PermanentFailure(reason: "unknown_type", detail: "pipeline-service does not handle \(command.type)")
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

    private func createLead(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let request = try PayloadMapping.createLead(command.payload)
        let (existing, definition) = try await store.leadCreationContext(shard: shard, tenant: command.tenant, leadID: request.leadID,
                                                                          definitionVersion: request.definitionVersion)
        let creation: LeadCreation
        do {
            creation = try LeadRules.create(request, existing: existing, definition: definition)
        } catch {
            throw Rejection(RejectionCode(rawValue: error.code) ?? .internal, error.message, field: error.field)
        }
        if case .created = creation, let definition {
            try await authorize(command, permission: "create", definition: definition, shard: shard)
        }
        switch creation {
        case .existing(let lead):
            return CommandDecision(writes: [], events: [], outcome: CommandOutcome.accepted(command, events: [], recordID: lead.id, recordVersion: lead.version))
        case .created(let lead):
            let event = command.event(type: MessageType.leadCreated, payload: [
                "leadId": .string(lead.id), "stage": .string(lead.stage), "definitionVersion": .integer(Int64(lead.definitionVersion)),
                "recordVersion": .integer(Int64(lead.version)), "data": PayloadMapping.json(lead.data),
            ])
            return CommandDecision(writes: [CrmStore.leadWrite(shard: shard, tenant: command.tenant, lead: lead)], events: [event],
                            outcome: CommandOutcome.accepted(command, events: [event], recordID: lead.id, recordVersion: lead.version))
        }
    }

    /// Refuses with `forbidden` unless the actor's roles (from the tenant's directory, never from the
    /// message) allow `permission` under the definition.
    private func authorize(_ command: Envelope, permission: String, definition: CompiledDefinition, shard: ShardKeys) async throws {
        guard !definition.source.permissions.isEmpty else { return }
        let directory = try await store.directory(shard: shard, tenant: command.tenant, user: command.actor)
        if let refusal = Authorization.check(actor: command.actor, user: directory.user, permission: permission, definition: definition.source) {
            throw Rejection(.forbidden, refusal.message)
        }
    }

    /// The lead and the definition version it started with; `not_found` when there is no such lead.
    private func existingLead(_ id: String, command: Envelope, shard: ShardKeys) async throws -> (LeadRecord, CompiledDefinition) {
        guard let lead = try await store.lead(shard: shard, tenant: command.tenant, id: id) else {
            throw Rejection(.notFound, "tenant '\(command.tenant)' has no lead '\(id)'", field: "payload.leadId")
        }
        guard let definition = try await store.definition(shard: shard, tenant: command.tenant, entity: .lead, version: lead.definitionVersion) else {
            throw Rejection(.internal, "definition version \(lead.definitionVersion) of lead '\(id)' is missing")
        }
        return (lead, definition)
    }

    private func updateLead(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let request = try PayloadMapping.updateLead(command.payload)
        let (lead, definition) = try await existingLead(request.id, command: command, shard: shard)
        try await authorize(command, permission: "update", definition: definition, shard: shard)
        let (updated, changes): (LeadRecord, [FieldChange])
        do {
            (updated, changes) = try LeadRules.update(lead, changes: request.changes, expectedVersion: request.expectedVersion, definition: definition)
        } catch {
            throw Rejection(RejectionCode(rawValue: error.code) ?? .internal, error.message, field: error.field)
        }
        guard !changes.isEmpty else {
            return CommandDecision(writes: [], events: [], outcome: CommandOutcome.accepted(command, events: [], recordID: lead.id, recordVersion: lead.version))
        }
        let event = command.event(type: MessageType.leadUpdated, payload: [
            "leadId": .string(lead.id), "recordVersion": .integer(Int64(updated.version)),
            "changes": .array(changes.map { ["field": .string($0.field), "old": PayloadMapping.json($0.old), "new": PayloadMapping.json($0.new)] }),
        ])
        return CommandDecision(writes: [CrmStore.leadWrite(shard: shard, tenant: command.tenant, lead: updated)], events: [event],
                        outcome: CommandOutcome.accepted(command, events: [event], recordID: lead.id, recordVersion: updated.version))
    }

    private func applyToLead(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let request = try PayloadMapping.applyToLead(command.payload)
        let (lead, definition) = try await existingLead(request.id, command: command, shard: shard)
        try await authorize(command, permission: request.action, definition: definition, shard: shard)
        let change: StageChange
        do {
            // Expressions see the command's time, so a replay decides alike.
            let now = RFC3339.seconds(command.occurredAt) ?? 0
            change = try LeadRules.apply(lead, action: request.action, expectedVersion: request.expectedVersion, definition: definition, now: now,
                                         actor: command.actor, registry: store.registry)
        } catch {
            throw Rejection(RejectionCode(rawValue: error.code) ?? .internal, error.message, field: error.field)
        }
        let event = command.event(type: MessageType.leadStageChanged, payload: [
            "leadId": .string(lead.id), "action": .string(change.action), "from": .string(change.from), "to": .string(change.to),
            "recordVersion": .integer(Int64(change.record.version)),
        ])
        let hooks: [ExtensionRegistry.AfterHook] = change.afterHooks.compactMap { store.registry.afterHooks[$0] }
        let committed = change
        var afterCommit: (@Sendable () async -> Void)?
        if !hooks.isEmpty {
            afterCommit = { @Sendable in
                for hook in hooks { await hook(committed) }
            }
        }
        return CommandDecision(writes: [CrmStore.leadWrite(shard: shard, tenant: command.tenant, lead: change.record)], events: [event],
                               outcome: CommandOutcome.accepted(command, events: [event], recordID: lead.id, recordVersion: change.record.version),
                               afterCommit: afterCommit)
    }
}
