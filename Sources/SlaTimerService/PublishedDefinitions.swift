import Contracts
import CrmCore
import CrmRedis
import Foundation
import RedisClient
import Synchronization

/// The definitions record events name, decoded once per published version. A version never
/// changes once published (its write adds a new field), so an entry never goes stale; most
/// definitions have no SLA policy and no escalation, and this lets an event of such a record be
/// passed over without reading and decoding its definition again (make bench: the CPU each
/// command costs sla-timer-service).
final class PublishedDefinitions: Sendable {
    private let pool: RedisPool
    private let entries = Mutex<[String: PipelineDefinition]>([:])
    private let capacity: Int

    init(pool: RedisPool, capacity: Int = 10_000) {
        self.pool = pool
        self.capacity = capacity
    }

    /// Version `version` of a tenant's definition for `entity`; nil when it was never published.
    func definition(_ entity: EntityKind, version: Int, tenant: String, shard: ShardKeys) async throws -> PipelineDefinition? {
        let key = shard.definitions(tenant: tenant, entity: entity.rawValue)
        let cacheKey = "\(key)|\(version)"
        if let known = entries.withLock({ $0[cacheKey] }) { return known }
        guard let bytes = try await pool.send("HGET", key, "d:\(version)").bytes else { return nil }
        let definition = try JSONDecoder().decode(PipelineDefinition.self, from: Data(bytes))
        entries.withLock { map in
            if map.count >= capacity { map.removeAll(keepingCapacity: true) }
            map[cacheKey] = definition
        }
        return definition
    }
}
