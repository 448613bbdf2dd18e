public import Contracts
import CrmRedis
public import ServiceKit

/// assignment-service: owns each tenant's directory of users and roles (`directory.put_user`), which
/// every service reads to authorize actors. Assignment strategies, approvals and delegation come
/// with the assignment issue; other command types go to the DLQ as `unknown_type`.
public struct AssignmentHandler: SingleMessageHandler {
    public let group = "assignment"
    public let catalog = MessageCatalog.current.restricted(to: AssignmentCommands.types.union(AssignmentCommands.reactions))
    let commands: AssignmentCommands

    public init(context: ServiceContext) {
        self.commands = AssignmentCommands(storage: RedisCrmStorage(pool: context.pool), logger: context.logger,
                                          policy: context.options.commitPolicy)
    }

    /// Its commands, and the events stream for the breaches and escalations that reassign a record.
    public func streams(of shard: ShardKeys) -> [String] { [shard.commands(.assignment), shard.events] }

    /// A tenant's directory changes one at a time.
    public func ordering(of message: InboundMessage) -> Ordering { .barrier(message.envelope.tenant) }

    public func handle(_ message: InboundMessage) async throws -> Bool {
        try await commands.execute(message.envelope, shard: message.shard, acknowledging: (message.stream, message.entryID))
        return true
    }
}

