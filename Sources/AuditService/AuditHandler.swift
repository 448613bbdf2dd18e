public import Contracts
import Crypto
import Foundation
import CrmRedis
import Logging
import RedisClient
public import ServiceKit
import Synchronization

/// audit-service: appends every event of `crm:{sN}:events` to `crm:{sN}:audit` as a hash chain.
/// One lane per shard keeps each chain in order; a lane's events are appended and acknowledged by
/// one script call. The head is cached per shard; a conflict (another audit consumer appended)
/// refreshes it, and events already in the chain (a redelivery) are acknowledged, not appended again.
public final class AuditHandler: MessageHandler {
    public let group = "audit"
    /// Every event type of this build (contracts/v1 and v2), whichever service owns it.
    public let catalog = MessageCatalog.current.only(.event)
    private let pool: RedisPool
    private let logger: Logger
    private let heads = Mutex<[Int: (seq: Int, hash: String)]>([:])
    private let markTTLSeconds: Int
    /// The checkpoint key's raw bytes (swift-crypto's key type is not Sendable).
    private let signingKey: Data?
    private let checkpointEvery: Int

    public init(context: ServiceContext, options: AuditOptions) throws {
        self.pool = context.pool
        self.markTTLSeconds = context.options.idempotencyTTLSeconds
        self.logger = context.logger
        self.signingKey = try options.key()?.rawRepresentation
        self.checkpointEvery = options.checkpointEvery
        if signingKey == nil { logger.warning("no CRM_AUDIT_SIGNING_KEY: the audit chains get no signed checkpoints") }
    }

    public func streams(of shard: ShardKeys) -> [String] { [shard.events] }

    public func handle(lane: [InboundMessage]) async -> [MessageOutcome] {
        guard let shard = lane.first?.shard else { return [] }
        var outcomes = [MessageOutcome?](repeating: nil, count: lane.count)
        var remaining = Array(lane.indices)
        var head = heads.withLock { $0[shard.shard] } ?? (seq: 0, hash: AuditChain.genesis)
        do {
            for _ in 0..<32 where !remaining.isEmpty {
                // The chain keeps the bytes exactly as the event was written.
                let events = remaining.map { AuditChain.PendingEvent(envelope: lane[$0].envelope, bytes: lane[$0].raw, entryID: lane[$0].entryID) }
                switch try await AuditChain.append(events, after: head, group: group, shard: shard, pool: pool, markTTLSeconds: markTTLSeconds) {
                case .appended(let seq, let hash):
                    heads.withLock { $0[shard.shard] = (seq, hash) }
                    if seq / checkpointEvery > head.seq / checkpointEvery { await checkpoint(shard: shard, seq: seq, hash: hash) }
                    for index in remaining { outcomes[index] = .handledAndAcknowledged }
                    remaining = []
                case .conflict(let seq, let hash):
                    head = (seq, hash)
                    heads.withLock { $0[shard.shard] = head }
                case .duplicates(let positions):
                    let seen = Set(positions.map { remaining[$0] })
                    for index in seen { outcomes[index] = .handled }
                    remaining.removeAll { seen.contains($0) }
                }
            }
            if !remaining.isEmpty {
                throw RedisError.unexpectedReply(command: "audit append", expected: "a stable chain head", got: "32 conflicts in a row")
            }
        } catch {
            for index in remaining { outcomes[index] = .failed(error) }
        }
        return outcomes.map { $0 ?? .failed(RedisError.closed) }
    }

    /// Signs and records the head; a failure is logged, and the next checkpoint covers it.
    private func checkpoint(shard: ShardKeys, seq: Int, hash: String) async {
        guard let signingKey else { return }
        do {
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: signingKey)
            let signed = try AuditCheckpoint.sign(shard: shard.shard, seq: seq, hash: hash, key: key)
            try await pool.send(StreamCommands.xadd(shard.auditCheckpoints, fields: signed.fields))
        } catch {
            logger.error("could not write an audit checkpoint", metadata: ["crm.shard": "\(shard.shard)", "crm.seq": "\(seq)", "error": "\(error)"])
        }
    }
}
