import Contracts
public import RedisClient

/// The services' storage: records are Redis hashes, a commit is one run of the commit script.
public struct RedisCrmStorage: CrmStorage {
    public let pool: RedisPool

    public init(pool: RedisPool) {
        self.pool = pool
    }

    public func read(_ reads: [HashRead]) async throws -> [[[UInt8]?]] {
        guard !reads.isEmpty else { return [] }
        let replies = try await pool.pipeline(reads.map { RedisCommand("HMGET", [$0.key] + $0.fields) })
        return try zip(reads, replies).map { read, reply in
            if case .error(let message) = reply { throw RedisError.fromReplyText(message) }
            guard let values = reply.array, values.count == read.fields.count else {
                throw RedisError.unexpectedReply(command: "HMGET", expected: "\(read.fields.count) values", got: reply.kindName)
            }
            return values.map(\.bytes)
        }
    }

    public func readAll(_ key: String) async throws -> [(field: String, value: [UInt8])] {
        let flat = try await pool.send("HGETALL", key).array ?? []
        return stride(from: 0, to: flat.count - 1, by: 2).compactMap { index in
            guard let field = flat[index].string, let value = flat[index + 1].bytes else { return nil }
            return (field, value)
        }
    }

    public func commit(_ request: CommitRequest) async throws -> CommitResult {
        var keys: [any RedisArgumentConvertible] = [request.idempotencyKey, request.eventsStream, request.replyList, 
                                                   // Without a source the slot is filled by a key of the same shard (cluster slots).
                                                   request.source?.stream ?? request.eventsStream]
        var arguments: [any RedisArgumentConvertible] = [
            request.outcome?.encoded() ?? [], request.policy.idempotencyTTLSeconds, request.policy.replyTTLSeconds, request.writes.count,
            request.events.count, request.source?.group ?? "", request.source?.entryID ?? "",
        ]
        for write in request.writes {
            keys.append(write.key)
            arguments += [write.expectedVersion.map(String.init) ?? "*", write.newVersion, write.fields.count]
            for (name, value) in write.fields { arguments += [name, value] }
        }
        arguments += request.events.map { $0.encoded() as any RedisArgumentConvertible }
        for (stream, envelope) in request.commands {
            keys.append(stream)
            arguments.append(envelope.encoded())
        }
        arguments += request.writes.compactMap { $0.dashboard?.encoded() as (any RedisArgumentConvertible)? }
        let reply = try await pool.evaluate(CommitScript.script, keys: keys, arguments: arguments)
        guard let parts = reply.array, let status = parts.first?.string else {
            throw RedisError.unexpectedReply(command: "commit script", expected: "status array", got: reply.kindName)
        }
        switch status {
        case "ok": return .committed
        case "replay": return .replayed(firstOutcome: parts.count > 1 ? parts[1].bytes ?? [] : [])
        case "conflict":
            return .conflict(key: parts.count > 1 ? parts[1].string ?? "" : "", actualVersion: Int(parts.count > 2 ? parts[2].integer ?? 0 : 0))
        default:
            throw RedisError.unexpectedReply(command: "commit script", expected: "ok, replay or conflict", got: status)
        }
    }
}
