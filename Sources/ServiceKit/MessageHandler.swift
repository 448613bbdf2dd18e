public import Contracts

/// One entry read from a stream, its envelope checked and upcast.
public struct InboundMessage: Sendable {
    public let envelope: Envelope
    /// The bytes as received (what the DLQ keeps).
    public let raw: [UInt8]
    public let stream: String
    public let entryID: String
    public let shard: ShardKeys
}

/// A service's domain logic. `handle` commits the message's whole effect (idempotently: the same
/// envelope id twice has one effect) and returns; the runtime acknowledges afterwards.
public protocol MessageHandler: Sendable {
    /// The consumer group, also the service's name in logs and keys.
    var group: String { get }
    /// The streams of one shard this service reads.
    func streams(of shard: ShardKeys) -> [String]
    /// The message types (and versions) the service handles; anything else goes to the DLQ.
    var catalog: MessageCatalog { get }
    func handle(_ message: InboundMessage) async throws
}

/// An error that retrying cannot fix: the entry goes to the DLQ at once with this reason.
public struct PermanentFailure: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public let detail: String

    public init(reason: String, detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason): \(detail)" }
}
