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

    /// Appends a batch of events after the head the caller believes current, and acknowledges their
    /// entries on the events stream, in one atomic step.
    /// KEYS: head, audit stream, events stream, then one idempotency mark per event.
    /// ARGV: expected seq, group, mark TTL, then per event: entry id, envelope, hash, prev.
    /// Returns {"ok"}, {"conflict", seq, hash} when another writer moved the head, or
    /// {"duplicates", i…} (1-based) for events already in the chain; nothing is written unless "ok".
    static let appendScript = RedisScript("""
    local seq = redis.call('HGET', KEYS[1], 'seq') or '0'
    if seq ~= ARGV[1] then
      return {'conflict', seq, redis.call('HGET', KEYS[1], 'hash') or ''}
    end
    local count = #KEYS - 3
    local duplicates = {'duplicates'}
    for i = 1, count do
      if redis.call('EXISTS', KEYS[3 + i]) == 1 then duplicates[#duplicates + 1] = i end
    end
    if #duplicates > 1 then return duplicates end
    local next = tonumber(seq)
    local hash = ''
    for i = 1, count do
      local base = 4 * (i - 1) + 4
      next = next + 1
      hash = ARGV[base + 2]
      redis.call('XADD', KEYS[2], '*', 'envelope', ARGV[base + 1], 'seq', next, 'hash', hash, 'prev', ARGV[base + 3])
      redis.call('SET', KEYS[3 + i], next, 'EX', ARGV[3])
      redis.call('XACK', KEYS[3], ARGV[2], ARGV[base])
    end
    redis.call('HSET', KEYS[1], 'seq', next, 'hash', hash)
    return {'ok'}
    """)

    /// One event to append: its id (the idempotency key), its bytes as written, and its entry on the events stream.
    public struct PendingEvent: Sendable {
        public let id: String
        public let envelope: [UInt8]
        public let entryID: String

        public init(id: String, envelope: [UInt8], entryID: String) {
            self.id = id
            self.envelope = envelope
            self.entryID = entryID
        }
    }

    public enum AppendResult: Sendable, Equatable {
        case appended(seq: Int, hash: String)
        case conflict(seq: Int, hash: String)
        /// Indexes (0-based) of events already in the chain; nothing was written.
        case duplicates([Int])
    }

    /// Appends `events` after `head`, acknowledging them for `group` on the shard's events stream.
    public static func append(_ events: [PendingEvent], after head: (seq: Int, hash: String), group: String, shard: ShardKeys,
                              pool: RedisPool, markTTLSeconds: Int = 7 * 24 * 3600) async throws -> AppendResult {
        var keys: [any RedisArgumentConvertible] = [shard.auditHead, shard.audit, shard.events]
        var arguments: [any RedisArgumentConvertible] = [head.seq, group, markTTLSeconds]
        var previous = head.hash
        for event in events {
            let digest = hash(previous: previous, envelope: event.envelope)
            keys.append(shard.idempotency(group: "audit", messageID: event.id))
            arguments += [event.entryID, event.envelope, digest, previous]
            previous = digest
        }
        let reply = try await pool.evaluate(appendScript, keys: keys, arguments: arguments)
        let parts = reply.array ?? []
        switch parts.first?.string {
        case "ok": return .appended(seq: head.seq + events.count, hash: previous)
        case "duplicates": return .duplicates(parts.dropFirst().compactMap { $0.integer.map { Int($0) - 1 } })
        case "conflict":
            let seq = Int(parts.count > 1 ? parts[1].integer ?? 0 : 0)
            let stored = parts.count > 2 ? parts[2].string ?? "" : ""
            return .conflict(seq: seq, hash: stored.isEmpty ? genesis : stored)
        default:
            throw RedisError.unexpectedReply(command: "audit append", expected: "ok, duplicates or conflict", got: reply.kindName)
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
