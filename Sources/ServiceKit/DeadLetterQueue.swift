public import Contracts
public import RedisClient

/// Parks an entry in `crm:{sN}:dlq` and acknowledges it in one atomic step, so it is neither lost
/// nor parked twice.
public struct DeadLetterQueue: Sendable {
    /// KEYS: dlq, source stream. ARGV: group, entry id, then field/value pairs of the DLQ entry.
    static let script = RedisScript("""
    local fields = {}
    for i = 3, #ARGV do fields[#fields + 1] = ARGV[i] end
    redis.call('XADD', KEYS[1], '*', unpack(fields))
    return redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
    """)

    public let pool: RedisPool
    public let group: String

    public init(pool: RedisPool, group: String) {
        self.pool = pool
        self.group = group
    }

    public func park(raw: [UInt8], reason: String, detail: String, source: String, entryID: String, deliveries: Int, shard: ShardKeys) async throws {
        let fields: [(String, [UInt8])] = [
            ("envelope", raw), ("reason", Array(reason.utf8)), ("detail", Array(detail.prefix(2000).utf8)),
            ("source", Array(source.utf8)), ("group", Array(group.utf8)), ("entryId", Array(entryID.utf8)),
            ("deliveries", Array(String(deliveries).utf8)), ("failedAt", Array(Envelope.timestamp().utf8)),
        ]
        var arguments: [any RedisArgumentConvertible] = [group, entryID]
        for (name, value) in fields { arguments += [name, value] }
        try await pool.evaluate(Self.script, keys: [shard.dlq, source], arguments: arguments)
    }
}
