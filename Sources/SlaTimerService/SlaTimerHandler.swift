public import Contracts
public import ServiceKit

/// sla-timer-service: joins its consumer group on `crm:{sN}:cmd:sla` of every shard. It handles no command
/// type yet, so each entry goes to the DLQ with reason `unknown_type` rather than being lost.
public struct SlaTimerHandler: SingleMessageHandler {
    public let group = "sla"
    public let catalog = MessageCatalog()

    public init(context: ServiceContext) {}

    public func streams(of shard: ShardKeys) -> [String] { [shard.commands(.sla)] }

    public func handle(_ message: InboundMessage) async throws -> Bool {
        throw PermanentFailure(reason: "unknown_type", detail: "sla-timer-service does not handle \(message.envelope.type)")
    }
}
