public import Contracts
import CrmCore
public import CrmRedis
import Foundation
public import Logging
public import RedisClient

/// What integration-service does with a command: `integration.configure` stores a tenant's
/// integration; `integration.invoke` and `integration.compensate` are checked and taken on (their
/// outcome says so at once), and the call itself is made later by `CallRunner`, off this path, so a
/// slow or dead endpoint never holds up the stream (REL-CRM-0391, SEC-CRM-0423).
public struct IntegrationCommands: Sendable {
    public static let group = "integration"
    public static let types = Set(MessageType.integrationCommands)
    let store: CallStore
    let records: CrmStore
    let committer: CommandCommitter
    let policy: CommitPolicy
    let settings: IntegrationSettings
    let plugins: PluginCaller
    let logger: Logger

    public init(pool: RedisPool, settings: IntegrationSettings, logger: Logger, policy: CommitPolicy = .init()) {
        self.plugins = PluginCaller(settings: settings)
        self.store = CallStore(pool: pool, finishedTTLSeconds: policy.idempotencyTTLSeconds)
        self.records = CrmStore(pool: pool)
        self.committer = CommandCommitter(pool: pool, group: Self.group, policy: policy)
        self.policy = policy
        self.settings = settings
        self.logger = logger
    }

    /// Handles one command (with its raw bytes, kept for the DLQ should the call fail for good).
    public func execute(_ command: Envelope, raw: [UInt8], shard: ShardKeys, acknowledging entry: (stream: String, entryID: String)? = nil) async throws {
        switch command.type {
        case MessageType.integrationConfigure:
            try await committer.decideAndCommit(command, shard: shard, acknowledging: entry, logger: logger) {
                try await configure(command, shard: shard)
            }
        case MessageType.integrationInvoke, MessageType.integrationCompensate:
            do {
                try await takeOn(command, raw: raw, shard: shard, acknowledging: entry)
            } catch let rejection as Rejection {
                _ = try await committer.commit(command: command, shard: shard, writes: [], events: Self.sagaFailure(command, rejection),
                                               outcome: CommandOutcome.rejected(command, rejection), acknowledging: entry)
            }
        default:
            _ = try await committer.commit(command: command, shard: shard, writes: [], events: [],
                                           outcome: CommandOutcome.rejected(command, Rejection(.invalidPayload, "integration-service does not handle \(command.type)")),
                                           acknowledging: entry)
        }
    }

    /// A saga step's call refused outright (an unconfigured integration, a bad input) must still end
    /// the step, or its saga would wait for a result forever: it fails for good, with no attempt made.
    static func sagaFailure(_ command: Envelope, _ rejection: Rejection) -> [Envelope] {
        let payload = command.payload
        guard let saga = payload["sagaId"]?.stringValue, let callID = payload["callId"]?.stringValue,
              let integration = payload["integration"]?.stringValue else { return [] }
        var failed: [String: JSONValue] = [
            "callId": .string(callID), "integration": .string(integration), "sagaId": .string(saga), "attempts": 0, "permanent": true,
            "operation": .string(command.type == MessageType.integrationCompensate ? "compensate" : "invoke"),
            "reason": .string("refused: \(rejection.code.rawValue): \(rejection.message)"),
        ]
        if let step = payload["step"], step.doubleValue != nil { failed["step"] = step }
        if let subject = payload["subject"]?.stringValue { failed["subject"] = .string(subject) }
        return [command.event(type: MessageType.integrationFailed, payload: .object(failed))]
    }

    private func takeOn(_ command: Envelope, raw: [UInt8], shard: ShardKeys, acknowledging entry: (stream: String, entryID: String)?) async throws {
        let request: CallRequest
        do {
            request = try CallRequest(command.payload)
        } catch {
            throw Rejection(error)
        }
        guard try await store.config(shard: shard, tenant: command.tenant, name: request.integration) != nil else {
            throw Rejection(.notFound, "the tenant has no integration '\(request.integration)'; configure it with integration.configure", field: "payload.integration")
        }
        let operation: CallOperation = command.type == MessageType.integrationCompensate ? .compensate : .invoke
        let call = CallDocument(
            tenant: command.tenant, actor: command.actor, callId: request.callId, operation: operation, integration: request.integration,
            input: request.input, subject: request.subject, sagaId: request.sagaId, step: request.step,
            idempotencyKey: CallDocument.idempotencyKey(callId: request.callId, sagaId: request.sagaId, step: request.step, operation: operation),
            commandId: command.id, correlationId: command.correlationId ?? command.id,
            commandStream: entry?.stream ?? shard.commands(.integration), commandEntryId: entry?.entryID ?? "0-0")
        let outcome = CommandOutcome.accepted(command, events: [], recordID: request.callId)
        let result = try await store.accept(call, command: raw, outcome: outcome, shard: shard, group: Self.group,
                                            policy: (policy.idempotencyTTLSeconds, policy.replyTTLSeconds), acknowledging: entry,
                                            dueAt: Clock.milliseconds())
        if result == .alreadyKnown {
            logger.info("call id seen before: not scheduled again", metadata: ["crm.tenant": "\(command.tenant)", "crm.call": "\(request.callId)"])
        }
    }

    private func configure(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let request: ConfigureRequest
        do {
            request = try ConfigureRequest(command.payload, maxTimeoutMs: settings.maxEndpointTimeoutMilliseconds)
        } catch {
            throw Rejection(error)
        }
        let directory = try await records.directory(shard: shard, tenant: command.tenant, user: command.actor)
        if let refusal = Authorization.checkAdministration(actor: command.actor, user: directory.user, directoryExists: directory.exists) {
            throw Rejection(.forbidden, refusal.message)
        }
        let key = shard.integrations(tenant: command.tenant)
        let version = CrmStore.integer(try await records.fields([HashRead(key, ["v"])])[0][0])
        let config = IntegrationConfig(name: request.name, kind: request.kind, url: request.url, secret: request.secret, plugin: request.plugin,
                                       memoryMb: request.memoryMb, smtpHost: request.email?.smtpHost, smtpPort: request.email?.smtpPort,
                                       from: request.email?.from, subject: request.email?.subject, body: request.email?.body,
                                       compensateSubject: request.email?.compensateSubject, compensateBody: request.email?.compensateBody,
                                       timeoutMs: request.timeoutMs, maxConcurrency: request.maxConcurrency,
                                       ratePerSecond: request.ratePerSecond, configVersion: version + 1)
        if config.kind == .plugin, let refusal = await plugins.validate(config, tenant: command.tenant) {
            throw Rejection(.invalidPayload, refusal, field: "payload.plugin")
        }
        let event = command.event(type: MessageType.integrationConfigured, payload: config.publicDescription)
        return CommandDecision(
            writes: [RecordWrite(key: key, expectedVersion: version, newVersion: version + 1, fields: [("i:\(request.name)", CallStore.encode(config))])],
            events: [event], outcome: CommandOutcome.accepted(command, events: [event], recordID: request.name, recordVersion: version + 1))
    }
}

/// Wall-clock milliseconds since the epoch: due times are compared across processes.
enum Clock {
    static func milliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }
}
