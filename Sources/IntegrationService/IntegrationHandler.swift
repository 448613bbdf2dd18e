public import Contracts
import CrmRedis
public import ServiceKit

/// integration-service's consumer on `crm:{sN}:cmd:integration`: checks each command and takes it on
/// (IntegrationCommands); `CallRunner` makes the calls.
public struct IntegrationHandler: SingleMessageHandler {
    public let group = IntegrationCommands.group
    public let catalog = MessageCatalog.current.restricted(to: IntegrationCommands.types)
    let commands: IntegrationCommands

    public init(context: ServiceContext, settings: IntegrationSettings) {
        commands = IntegrationCommands(pool: context.pool, settings: settings, logger: context.logger,
                                       policy: context.options.commitPolicy)
    }

    public func streams(of shard: ShardKeys) -> [String] { [shard.commands(.integration)] }

    /// Configuration changes are barriers for their tenant; calls are independent of one another.
    public func ordering(of message: InboundMessage) -> Ordering {
        guard message.envelope.type != MessageType.integrationConfigure,
              let callId = message.envelope.payload["callId"]?.stringValue else { return .barrier(message.envelope.tenant) }
        return Ordering(scope: message.envelope.tenant, key: callId)
    }

    public func handle(_ message: InboundMessage) async throws -> Bool {
        try await commands.execute(message.envelope, raw: message.raw, shard: message.shard, acknowledging: (message.stream, message.entryID))
        return true
    }
}
