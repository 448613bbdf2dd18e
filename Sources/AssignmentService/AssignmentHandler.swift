public import Contracts
public import ServiceKit

/// assignment-service: joins its consumer group on `crm:{sN}:cmd:assignment` of every shard. It handles no command
/// type yet, so each entry goes to the DLQ with reason `unknown_type` rather than being lost.
public struct AssignmentHandler: SingleMessageHandler {
    public let group = "assignment"
    public let catalog = MessageCatalog()

    public init(context: ServiceContext) {}

    public func streams(of shard: ShardKeys) -> [String] { [shard.commands(.assignment)] }

    public func handle(_ message: InboundMessage) async throws -> Bool {
        throw PermanentFailure(reason: "unknown_type", detail: "assignment-service does not handle \(message.envelope.type)")
    }
}
