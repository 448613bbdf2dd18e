public import Contracts
public import CrmCore
import CrmRedis
import Foundation
public import ServiceKit

/// pipeline-service: definitions and records. Each command is read, decided by CrmCore and written
/// by one atomic commit; a conflicting concurrent write makes it read and decide again.
public struct PipelineHandler: SingleMessageHandler {
    public let group = "pipeline"
    /// The pipeline's commands, the integration results the saga coordinator reacts to, and the
    /// event types registered triggers watch.
    public let catalog: MessageCatalog
    let commands: PipelineCommands

    /// `extensions`: the Swift conditions, hooks and triggers this deployment registers.
    public init(context: ServiceContext, extensions: ExtensionRegistry = .empty) {
        let reactions = PipelineCommands.reactions.union(extensions.triggerEventTypes)
        self.catalog = MessageCatalog(MessageCatalog.current.restricted(to: PipelineCommands.types).entries.values
            + reactions.sorted().map { MessageCatalog.current.entry(for: $0) ?? MessageCatalog.Entry(type: $0, kind: .event) })
        let policy = context.options.commitPolicy
        self.commands = PipelineCommands(storage: RedisCrmStorage(pool: context.pool), extensions: extensions, policy: policy, logger: context.logger)
    }

    /// Its commands, and the events stream for the results of the calls its sagas make.
    public func streams(of shard: ShardKeys) -> [String] { [shard.commands(.pipeline), shard.events] }

    /// Commands on one record keep their order and run concurrently with other records' commands; a
    /// definition change is a barrier for its tenant (what follows it may depend on it).
    public func ordering(of message: InboundMessage) -> Ordering {
        let tenant = message.envelope.tenant
        if message.envelope.kind == .event {
            // An integration result: in line with the commands of the record it is about.
            let subject = message.envelope.payload["subject"]?.stringValue ?? "message:\(message.envelope.id)"
            return Ordering(scope: tenant, key: subject.replacingOccurrences(of: ":", with: "/"))
        }
        if MessageType.flowCommands.contains(message.envelope.type) {
            let id = message.envelope.payload["leadId"]?.stringValue.map { "lead/\($0)" } ?? message.envelope.payload["opportunityId"]?.stringValue.map { "opportunity/\($0)" }
            return Ordering(scope: tenant, key: id ?? "message/\(message.envelope.id)")
        }
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
