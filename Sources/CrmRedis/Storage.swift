public import Contracts
public import CrmCore
import Foundation
public import RedisClient

/// Reads and encodes the tenant data the pipeline keeps: definitions (one hash per entity with `v` =
/// latest version and `d:<n>` = version n) and records (one hash each with `v` and the document `d`).
public struct CrmStore: Sendable {
    public let pool: RedisPool

    public init(pool: RedisPool) {
        self.pool = pool
    }

    /// The latest version number of a tenant's definition for `entity` (0 when none was published).
    public func latestDefinitionVersion(shard: ShardKeys, tenant: String, entity: EntityKind) async throws -> Int {
        let reply = try await pool.send("HGET", shard.definitions(tenant: tenant, entity: entity.rawValue), "v")
        return Int(reply.integer ?? 0)
    }

    /// A compiled definition by version (nil = latest); nil when there is none.
    public func definition(shard: ShardKeys, tenant: String, entity: EntityKind, version: Int?) async throws -> CompiledDefinition? {
        let key = shard.definitions(tenant: tenant, entity: entity.rawValue)
        let wanted: Int
        if let version {
            wanted = version
        } else {
            wanted = Int(try await pool.send("HGET", key, "v").integer ?? 0)
        }
        guard wanted > 0, let bytes = try await pool.send("HGET", key, "d:\(wanted)").bytes else { return nil }
        let source = try Self.decoder.decode(PipelineDefinition.self, from: Data(bytes))
        // Stored definitions passed compilation when published.
        return try CompiledDefinition.compile(source, version: wanted)
    }

    public func lead(shard: ShardKeys, tenant: String, id: String) async throws -> LeadRecord? {
        let reply = try await pool.send("HGET", shard.record(tenant: tenant, entity: "lead", id: id), "d")
        guard let bytes = reply.bytes else { return nil }
        return try Self.decoder.decode(LeadRecord.self, from: Data(bytes))
    }

    public static func definitionWrite(shard: ShardKeys, tenant: String, definition: CompiledDefinition) -> RecordWrite {
        RecordWrite(key: shard.definitions(tenant: tenant, entity: definition.source.entity.rawValue),
                    expectedVersion: definition.version - 1, newVersion: definition.version,
                    fields: [("d:\(definition.version)", encode(definition.source))])
    }

    public static func leadWrite(shard: ShardKeys, tenant: String, lead: LeadRecord) -> RecordWrite {
        RecordWrite(key: shard.record(tenant: tenant, entity: "lead", id: lead.id),
                    expectedVersion: lead.version - 1, newVersion: lead.version, fields: [("d", encode(lead))])
    }

    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        // Core types hold only strings, numbers and booleans: encoding cannot fail.
        Array(try! encoder.encode(value))
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private static let decoder = JSONDecoder()
}
