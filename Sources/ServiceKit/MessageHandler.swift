public import Contracts

/// One entry read from a stream, its envelope checked and upcast.
public struct InboundMessage: Sendable {
    public let envelope: Envelope
    /// The bytes as received (what the DLQ keeps).
    public let raw: [UInt8]
    public let stream: String
    public let entryID: String
    public let shard: ShardKeys
    /// The consumer group reading it: a commit script may acknowledge the entry with its effect.
    public let group: String
}

/// What became of one message.
public enum MessageOutcome: Sendable {
    /// Committed; the runtime acknowledges the entry.
    case handled
    /// Committed, and the same atomic write acknowledged the entry.
    case handledAndAcknowledged
    /// Not committed: the entry stays pending and is retried (after `CRM_CLAIM_IDLE_MS`) until the
    /// delivery limit parks it in the DLQ.
    case failed(any Error)
    /// Retrying cannot help: the entry goes to the DLQ at once.
    case rejected(PermanentFailure)
}

/// Which messages must keep their stream order. Messages of one `scope` (a tenant, say) with the same
/// `key` (a record) run one after another in a lane; different keys run concurrently. A message with
/// no key is a barrier for its scope (a definition change): it runs after everything before it in
/// its scope and before everything after it.
public struct Ordering: Sendable, Hashable {
    public let scope: String
    public let key: String?

    public init(scope: String, key: String?) {
        self.scope = scope
        self.key = key
    }

    public static func barrier(_ scope: String) -> Ordering { Ordering(scope: scope, key: nil) }
}

/// A service's domain logic. The runtime splits each batch into lanes by `ordering(of:)`: lanes run
/// concurrently, the messages of one lane in stream order. A handler commits each message's whole
/// effect idempotently (the same envelope id twice has one effect).
public protocol MessageHandler: Sendable {
    /// The consumer group, also the service's name in logs and keys.
    var group: String { get }
    /// The streams of one shard this service reads.
    func streams(of shard: ShardKeys) -> [String]
    /// The message types (and versions) the service handles; anything else goes to the DLQ.
    var catalog: MessageCatalog { get }
    /// How the message is ordered against the others (default: one lane per shard, all in order).
    func ordering(of message: InboundMessage) -> Ordering
    /// Handles one lane; returns one outcome per message, in order.
    func handle(lane: [InboundMessage]) async -> [MessageOutcome]
}

/// A handler that takes one message at a time.
public protocol SingleMessageHandler: MessageHandler {
    /// Commits the message's effect; returns true when that commit also acknowledged the entry.
    func handle(_ message: InboundMessage) async throws -> Bool
}

extension MessageHandler {
    public func ordering(of message: InboundMessage) -> Ordering { Ordering(scope: "shard:\(message.shard.shard)", key: "all") }
}

extension SingleMessageHandler {
    /// Handles the lane in order; after a failure the rest of the lane waits too, so a later
    /// command on the same key never overtakes an earlier one.
    public func handle(lane: [InboundMessage]) async -> [MessageOutcome] {
        var outcomes: [MessageOutcome] = []
        for message in lane {
            if let blocked = outcomes.last, case .failed(let error) = blocked {
                outcomes.append(.failed(error))
                continue
            }
            do {
                outcomes.append(try await handle(message) ? .handledAndAcknowledged : .handled)
            } catch let failure as PermanentFailure {
                outcomes.append(.rejected(failure))
            } catch {
                outcomes.append(.failed(error))
            }
        }
        return outcomes
    }
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
