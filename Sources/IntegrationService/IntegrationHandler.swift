public import Contracts
public import ServiceKit

/// integration-service: joins its consumer group on `crm:{sN}:cmd:integration` of every shard. It handles no command
/// type yet, so each entry goes to the DLQ with reason `unknown_type` rather than being lost.
public struct IntegrationHandler: SingleMessageHandler {
    public let group = "integration"
    public let catalog = MessageCatalog()

    public init(context: ServiceContext) {}

    public func streams(of shard: ShardKeys) -> [String] { [shard.commands(.integration)] }

    public func handle(_ message: InboundMessage) async throws -> Bool {
        throw PermanentFailure(reason: "unknown_type", detail: "integration-service does not handle \(message.envelope.type)")
    }
}
