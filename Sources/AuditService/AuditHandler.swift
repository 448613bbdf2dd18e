public import Contracts
public import CrmRedis
public import Logging
import RedisClient
public import ServiceKit
import Synchronization

/// audit-service: appends every event of `crm:{sN}:events` to `crm:{sN}:audit` as a hash chain.
/// The chain head is cached per shard; a conflict (another audit consumer appended) refreshes it.
public final class AuditHandler: MessageHandler {
    public let group = "audit"
    public let catalog = MessageCatalog.v1.restricted(to: Set(MessageType.events))
    private let pool: RedisPool
    private let logger: Logger
    private let heads = Mutex<[Int: (seq: Int, hash: String)]>([:])

    public init(context: ServiceContext) {
        self.pool = context.pool
        self.logger = context.logger
    }

    public func streams(of shard: ShardKeys) -> [String] { [shard.events] }

    public func handle(_ message: InboundMessage) async throws {
        let shard = message.shard
        var head = heads.withLock { $0[shard.shard] } ?? (seq: 0, hash: AuditChain.genesis)
        for _ in 0..<16 {
            // The chain keeps the bytes exactly as the event was written.
            switch try await AuditChain.append(event: message.envelope.id, envelope: message.raw, after: head, shard: shard, pool: pool) {
            case .appended(let seq, let hash):
                heads.withLock { $0[shard.shard] = (seq, hash) }
                return
            case .duplicate:
                return
            case .conflict(let seq, let hash):
                head = (seq, hash)
                heads.withLock { $0[shard.shard] = head }
            }
        }
        throw RedisError.unexpectedReply(command: "audit append", expected: "a stable chain head", got: "16 conflicts in a row")
    }
}
