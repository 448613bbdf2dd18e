public import Contracts
import Foundation
public import RedisClient

/// One entry of the audit trail as stored: the envelope's bytes, its place in the chain and the
/// fields copied out of the envelope for readers (tenant, type, actor, record).
public struct AuditRecord: Sendable, Equatable {
    public let entryID: String
    public let seq: Int
    public let hash: String
    public let prev: String
    public let bytes: [UInt8]
    public let tenant: String
    public let type: String
    public let actor: String
    public let record: String

    public init(entryID: String, seq: Int, hash: String, prev: String, bytes: [UInt8], tenant: String = "", type: String = "", actor: String = "", record: String = "") {
        self.entryID = entryID
        self.seq = seq
        self.hash = hash
        self.prev = prev
        self.bytes = bytes
        self.tenant = tenant
        self.type = type
        self.actor = actor
        self.record = record
    }

    public init(_ entry: StreamEntry) {
        let bytes = entry.field("envelope") ?? []
        var tenant = entry.string("tenant"), type = entry.string("type"), actor = entry.string("actor")
        if tenant == nil || type == nil || actor == nil, let envelope = try? JSONValue.parse(bytes) {
            // Entries written before these fields existed: read them from the envelope.
            tenant = tenant ?? envelope["tenant"]?.stringValue
            type = type ?? envelope["type"]?.stringValue
            actor = actor ?? envelope["actor"]?.stringValue
        }
        self.init(entryID: entry.id, seq: Int(entry.string("seq") ?? "") ?? -1, hash: entry.string("hash") ?? "",
                  prev: entry.string("prev") ?? "", bytes: bytes, tenant: tenant ?? "", type: type ?? "", actor: actor ?? "",
                  record: entry.string("record") ?? "")
    }

    /// The entry as one JSON object (the envelope embedded as JSON when it parses).
    public var json: JSONValue {
        let envelope = (try? JSONValue.parse(bytes)) ?? .string(String(decoding: bytes, as: UTF8.self))
        return [
            "entryId": .string(entryID), "seq": .integer(Int64(seq)), "hash": .string(hash), "prev": .string(prev),
            "tenant": .string(tenant), "type": .string(type), "actor": .string(actor), "record": .string(record), "envelope": envelope,
        ]
    }
}

/// Reads the audit trail.
public enum AuditTrail {
    /// A record's audit entries, oldest first, for its tenant only (the index key holds the tenant).
    /// Entries already archived and trimmed from the stream are read from `archive` when given.
    public static func history(tenant: String, subject: AuditSubject, router: ShardRouter, connection: RedisConnection,
                               archive: AuditArchive? = nil) async throws -> [AuditRecord] {
        let shard = router.keys(forTenant: tenant)
        let ids = (try await connection.send("LRANGE", shard.auditHistory(tenant: tenant, subject: subject), 0, -1).array ?? []).compactMap(\.string)
        guard !ids.isEmpty else { return [] }
        let replies = try await connection.pipeline(ids.map { RedisCommand("XRANGE", [shard.audit, $0, $0]) })
        let live = try replies.flatMap { try StreamEntry.parseList($0, command: "XRANGE") }.map(AuditRecord.init)
        guard live.count < ids.count, let archive else { return inTimeOrder(live) }
        let missing = Set(ids).subtracting(live.map(\.entryID))
        let archived = try archive.records(shard: shard.shard).filter { missing.contains($0.entryID) }
        let byID = Dictionary((archived + live).map { ($0.entryID, $0) }, uniquingKeysWith: { first, _ in first })
        return inTimeOrder(ids.compactMap { byID[$0] })
    }

    /// A record's entries in the order their events happened. The chain's order can differ: after an
    /// audit-service crash, entries claimed from the dead consumer are appended after newer ones.
    /// Timestamps are RFC 3339 UTC with fixed precision, so text order is time order; ties keep chain order.
    static func inTimeOrder(_ records: [AuditRecord]) -> [AuditRecord] {
        let times = records.map { (try? JSONValue.parse($0.bytes))?["occurredAt"]?.stringValue ?? "" }
        return zip(records, times).enumerated().sorted { ($0.element.1, $0.offset) < ($1.element.1, $1.offset) }.map(\.element.0)
    }
}
