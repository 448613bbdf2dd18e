import Contracts
public import CrmRedis
import Foundation
import Logging
import RedisClient
public import ServiceKit
public import ServiceLifecycle

/// Keeps each shard's audit stream at most `maxLength` entries long without losing any: the oldest
/// entries are appended to the archive and fsynced first, then trimmed with `XTRIM MINID`.
/// The newest archived id is read from the archive itself, so a crash between writing and trimming
/// neither loses nor duplicates an entry.
public final class AuditArchiver: Service, Sendable {
    let archive: AuditArchive
    let maxLength: Int
    let interval: Duration
    let pool: RedisPool
    let router: ShardRouter
    let logger: Logger

    public init(archive: AuditArchive, maxLength: Int, interval: Duration, context: ServiceContext) {
        self.archive = archive
        self.maxLength = maxLength
        self.interval = interval
        self.pool = context.pool
        self.router = context.router
        self.logger = context.logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                for shard in self.router.allShards {
                    do {
                        try await self.archiveExcess(shard)
                    } catch {
                        self.logger.error("audit archiving failed; the stream is not trimmed", metadata: ["crm.shard": "\(shard.shard)", "error": "\(error)"])
                    }
                }
                try await Task.sleep(for: self.interval)
            }
        }
    }

    /// Archives and trims one shard down to `maxLength` entries.
    func archiveExcess(_ shard: ShardKeys) async throws {
        try await pool.withConnection { redis in
            var excess = try await redis.xlen(shard.audit) - maxLength
            while excess > 0 {
                let oldest = try await redis.xrange(shard.audit, count: min(excess, 2000)).map(AuditRecord.init)
                guard let last = oldest.last else { return }
                let archivedUpTo = try archive.lastEntryID(shard: shard.shard)
                let fresh = oldest.filter { archivedUpTo == nil || Self.isAfter($0.entryID, archivedUpTo!) }
                try archive.append(fresh, shard: shard.shard)
                try await redis.send("XTRIM", shard.audit, "MINID", Self.successor(of: last.entryID))
                logger.info("audit entries archived and trimmed", metadata: ["crm.shard": "\(shard.shard)", "crm.count": "\(oldest.count)", "crm.upTo": "\(last.entryID)"])
                excess -= oldest.count
            }
        }
    }

    static func parts(_ id: String) -> (UInt64, UInt64) {
        let pieces = id.split(separator: "-")
        return (UInt64(pieces.first ?? "") ?? 0, UInt64(pieces.count > 1 ? pieces[1] : "") ?? 0)
    }

    static func isAfter(_ id: String, _ other: String) -> Bool { parts(id) > parts(other) }

    /// The smallest stream id greater than `id` (XTRIM MINID keeps ids ≥ it).
    static func successor(of id: String) -> String {
        let (millis, seq) = parts(id)
        return "\(millis)-\(seq + 1)"
    }
}
