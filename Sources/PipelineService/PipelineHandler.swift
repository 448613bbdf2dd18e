public import Contracts
public import CrmCore
import CrmRedis
import Foundation
public import ServiceKit

/// pipeline-service: definitions and records. Each command is read, decided by CrmCore and written
/// by one atomic commit; a conflicting concurrent write makes it read and decide again.
public struct PipelineHandler: SingleMessageHandler {
    public let group = "pipeline"
    public let catalog = MessageCatalog.v1.restricted(to: PipelineCommands.types)
    let commands: PipelineCommands

    /// `extensions`: the Swift conditions and hooks this deployment registers for its definitions.
    public init(context: ServiceContext, extensions: ExtensionRegistry = .empty) {
        let policy = CommitPolicy(idempotencyTTLSeconds: context.options.idempotencyTTLSeconds)
        self.commands = PipelineCommands(storage: RedisCrmStorage(pool: context.pool), extensions: extensions, policy: policy, logger: context.logger)
    }

    public func streams(of shard: ShardKeys) -> [String] { [shard.commands(.pipeline)] }

    /// Commands on one record keep their order and run concurrently with other records' commands; a
    /// definition change is a barrier for its tenant (what follows it may depend on it).
    public func ordering(of message: InboundMessage) -> Ordering {
        let tenant = message.envelope.tenant
        if message.envelope.type.hasPrefix("contact."), let id = message.envelope.payload["contactId"]?.stringValue {
            return Ordering(scope: tenant, key: "contact/\(id)")
        }
        if message.envelope.type == MessageType.interactionLog, let subject = message.envelope.payload["subject"]?.stringValue {
            return Ordering(scope: tenant, key: subject.replacingOccurrences(of: ":", with: "/"))
        }
        guard let kind = RecordCommand(type: message.envelope.type) else { return .barrier(tenant) }
        if let id = message.envelope.payload[kind.idField]?.stringValue { return Ordering(scope: tenant, key: "\(kind.entity.rawValue)/\(id)") }
        return Ordering(scope: tenant, key: "message/\(message.envelope.id)")
    }

    public func handle(_ message: InboundMessage) async throws -> Bool {
        try await commands.execute(message.envelope, shard: message.shard, acknowledging: (message.stream, message.entryID))
        return true
    }
}
