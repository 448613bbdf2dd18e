import Crypto
public import Contracts
public import RedisClient

/// The audit trail's hash chain: each entry stores `prev` (the previous entry's hash) and
/// `hash = SHA-256(prev + "\n" + envelope bytes)`, so changing, removing or reordering any entry
/// breaks every hash after it.
public enum AuditChain {
    public static let genesis = String(repeating: "0", count: 64)

    public static func hash(previous: String, envelope: [UInt8]) -> String {
        Checksum.sha256(Array(previous.utf8) + [0x0A] + envelope)
    }

    /// Appends a batch of events after the head the caller believes current, indexes each under its
    /// record's history, and acknowledges their entries on the events stream, in one atomic step.
    /// KEYS: head, audit stream, events stream, then per event: its idempotency mark, its history list.
    /// ARGV: expected seq, group, mark TTL, then per event: entry id, envelope, hash, prev, tenant, type,
    ///       actor, record ("" when none).
    /// Returns {"ok"}, {"conflict", seq, hash} when another writer moved the head, or
    /// {"duplicates", i…} (1-based) for events already in the chain; nothing is written unless "ok".
    static let appendScript = RedisScript("""
    local seq = redis.call('HGET', KEYS[1], 'seq') or '0'
    if seq ~= ARGV[1] then
      return {'conflict', seq, redis.call('HGET', KEYS[1], 'hash') or ''}
    end
    local count = (#KEYS - 3) / 2
    local duplicates = {'duplicates'}
    for i = 1, count do
      if redis.call('EXISTS', KEYS[2 + 2 * i]) == 1 then duplicates[#duplicates + 1] = i end
    end
    if #duplicates > 1 then return duplicates end
    local next = tonumber(seq)
    local hash = ''
    for i = 1, count do
      local a = 8 * (i - 1) + 4
      next = next + 1
      hash = ARGV[a + 2]
      local id = redis.call('XADD', KEYS[2], '*', 'envelope', ARGV[a + 1], 'seq', next, 'hash', hash, 'prev', ARGV[a + 3],
        'tenant', ARGV[a + 4], 'type', ARGV[a + 5], 'actor', ARGV[a + 6], 'record', ARGV[a + 7])
      redis.call('SET', KEYS[2 + 2 * i], next, 'EX', ARGV[3])
      if ARGV[a + 7] ~= '' then redis.call('RPUSH', KEYS[3 + 2 * i], id) end
      redis.call('XACK', KEYS[3], ARGV[2], ARGV[a])
    end
    redis.call('HSET', KEYS[1], 'seq', next, 'hash', hash)
    return {'ok'}
    """)

    /// One event to append: its envelope as read and the bytes as written, and its entry on the events stream.
    public struct PendingEvent: Sendable {
        public let envelope: Envelope
        public let bytes: [UInt8]
        public let entryID: String

        public init(envelope: Envelope, bytes: [UInt8], entryID: String) {
            self.envelope = envelope
            self.bytes = bytes
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
            let digest = hash(previous: previous, envelope: event.bytes)
            let subject = AuditSubject.of(event.envelope)
            keys.append(shard.idempotency(group: "audit", messageID: event.envelope.id))
            keys.append(subject.map { shard.auditHistory(tenant: event.envelope.tenant, subject: $0) } ?? shard.auditHistory(tenant: event.envelope.tenant, subject: AuditSubject(entity: "-", id: "-")))
            arguments += [event.entryID, event.bytes, digest, previous, event.envelope.tenant, event.envelope.type, event.envelope.actor, subject?.description ?? ""]
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
}

/// SHA-256 as lower-case hex.
public enum Checksum {
    public static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
