import Crypto
public import Contracts
public import RedisClient

/// The audit trail's hash chain: each entry stores `prev` (the previous entry's hash) and
/// `hash = SHA-256(prev + "\n" + envelope bytes)`, so changing, removing or reordering any entry
/// breaks every hash after it.
public enum AuditChain {
    public static let genesis = String(repeating: "0", count: 64)

    public static func hash(previous: String, envelope: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(data: Array(previous.utf8))
        hasher.update(data: [0x0A])
        hasher.update(data: envelope)
        return hasher.finalize().map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// KEYS: head, audit stream, idempotency mark. ARGV: expected seq, new seq, hash, prev, envelope, mark TTL.
    /// Returns {"ok"}, {"duplicate"} or {"conflict", seq, hash} when another writer moved the head.
    static let appendScript = RedisScript("""
    if redis.call('EXISTS', KEYS[3]) == 1 then return {'duplicate'} end
    local seq = redis.call('HGET', KEYS[1], 'seq') or '0'
    if seq ~= ARGV[1] then
      return {'conflict', seq, redis.call('HGET', KEYS[1], 'hash') or ''}
    end
    redis.call('XADD', KEYS[2], '*', 'envelope', ARGV[5], 'seq', ARGV[2], 'hash', ARGV[3], 'prev', ARGV[4])
    redis.call('HSET', KEYS[1], 'seq', ARGV[2], 'hash', ARGV[3])
    redis.call('SET', KEYS[3], ARGV[2], 'EX', ARGV[6])
    return {'ok'}
    """)

    public enum AppendResult: Sendable, Equatable {
        case appended(seq: Int, hash: String)
        case duplicate
        case conflict(seq: Int, hash: String)
    }

    /// Appends one event after the head (`seq`, `hash`) the caller believes current.
    public static func append(event id: String, envelope: [UInt8], after head: (seq: Int, hash: String), shard: ShardKeys,
                              pool: RedisPool, markTTLSeconds: Int = 7 * 24 * 3600) async throws -> AppendResult {
        let hash = hash(previous: head.hash, envelope: envelope)
        let reply = try await pool.evaluate(appendScript, keys: [shard.auditHead, shard.audit, shard.idempotency(group: "audit", messageID: id)],
                                            arguments: [head.seq, head.seq + 1, hash, head.hash, envelope, markTTLSeconds])
        let parts = reply.array ?? []
        switch parts.first?.string {
        case "ok": return .appended(seq: head.seq + 1, hash: hash)
        case "duplicate": return .duplicate
        case "conflict":
            let seq = Int(parts.count > 1 ? parts[1].integer ?? 0 : 0)
            let stored = parts.count > 2 ? parts[2].string ?? "" : ""
            return .conflict(seq: seq, hash: stored.isEmpty ? genesis : stored)
        default:
            throw RedisError.unexpectedReply(command: "audit append", expected: "ok, duplicate or conflict", got: reply.kindName)
        }
    }

    /// One link that does not hold, found by `verify`.
    public struct Break: Sendable, Equatable, CustomStringConvertible {
        public let entryID: String
        public let seq: Int
        public let reason: String
        public var description: String { "entry \(entryID) (seq \(seq)): \(reason)" }
    }

    /// Re-computes the chain of one shard's audit stream; returns the entries checked and every break.
    public static func verify(shard: ShardKeys, connection: RedisConnection) async throws -> (checked: Int, breaks: [Break]) {
        var previous = genesis
        var expectedSeq = 1
        var start = "-"
        var checked = 0
        var breaks: [Break] = []
        while true {
            let entries = try await connection.xrange(shard.audit, start: start, count: 1000)
            for entry in entries {
                let seq = Int(entry.string("seq") ?? "") ?? -1
                let envelope = entry.field("envelope") ?? []
                let recomputed = hash(previous: previous, envelope: envelope)
                if seq != expectedSeq { breaks.append(Break(entryID: entry.id, seq: seq, reason: "seq \(seq), expected \(expectedSeq)")) }
                if entry.string("prev") != previous { breaks.append(Break(entryID: entry.id, seq: seq, reason: "prev does not match the previous entry's hash")) }
                if entry.string("hash") != recomputed { breaks.append(Break(entryID: entry.id, seq: seq, reason: "hash does not match the entry's content")) }
                previous = entry.string("hash") ?? recomputed
                expectedSeq = seq + 1
                checked += 1
            }
            guard entries.count == 1000, let last = entries.last else { break }
            start = "(" + last.id
        }
        return (checked, breaks)
    }
}
