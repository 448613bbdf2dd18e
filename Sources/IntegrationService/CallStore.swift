import Contracts
import Foundation
public import RedisClient

/// Where calls live between being accepted and being reported: one hash per call and a due set per
/// shard (DESIGN §4: retry delays are kept durable, not slept in a consumer).
public struct CallStore: Sendable {
    public let pool: RedisPool
    /// How long a finished call's record stays readable (crmctl, replays), in seconds.
    public let finishedTTLSeconds: Int

    public init(pool: RedisPool, finishedTTLSeconds: Int = 7 * 24 * 3600) {
        self.pool = pool
        self.finishedTTLSeconds = finishedTTLSeconds
    }

    public enum AcceptResult: Sendable, Equatable {
        case accepted, alreadyKnown, replayed
    }

    /// Accepts a call with its command's outcome and acknowledges the command, in one step.
    func accept(_ call: CallDocument, command: [UInt8], outcome: Envelope, shard: ShardKeys, group: String, policy: (idempotencyTTL: Int, replyTTL: Int),
                acknowledging entry: (stream: String, entryID: String)?, dueAt: Int64) async throws -> AcceptResult {
        let keys: [any RedisArgumentConvertible] = [
            shard.idempotency(group: group, messageID: call.commandId), shard.events, shard.reply(commandID: call.commandId),
            entry?.stream ?? shard.events, shard.integrationCall(tenant: call.tenant, callID: call.callId), shard.integrationDue,
        ]
        let arguments: [any RedisArgumentConvertible] = [
            outcome.encoded(), policy.idempotencyTTL, policy.replyTTL, entry == nil ? "" : group, entry?.entryID ?? "",
            Self.encode(call), command, Int(dueAt), call.member,
        ]
        let reply = try await pool.evaluate(CallScripts.accept, keys: keys, arguments: arguments)
        switch reply.array?.first?.string {
        case "ok": return .accepted
        case "exists": return .alreadyKnown
        case "replay": return .replayed
        default: throw RedisError.unexpectedReply(command: "accept script", expected: "ok, exists or replay", got: reply.kindName)
        }
    }

    /// Leases up to `limit` due calls of a shard; returns each call's member and attempt number.
    func claim(shard: ShardKeys, now: Int64, leaseMilliseconds: Int, limit: Int) async throws -> [(member: String, attempt: Int)] {
        let reply = try await pool.evaluate(CallScripts.claim, keys: [shard.integrationDue],
                                            arguments: [Int(now), Int(now) + leaseMilliseconds, limit, shard.integrationCallPrefix])
        let flat = reply.array ?? []
        return stride(from: 0, to: flat.count - 1, by: 2).compactMap { index in
            guard let member = flat[index].string, let attempt = flat[index + 1].integer else { return nil }
            return (member, Int(attempt))
        }
    }

    /// A claimed call's document and raw command (nil when the record is gone).
    func load(shard: ShardKeys, member: String) async throws -> (call: CallDocument, command: [UInt8])? {
        let values = try await pool.send("HMGET", shard.integrationCallPrefix + member, "d", "cmd").array ?? []
        guard values.count == 2, let document = values[0].bytes else { return nil }
        return (try JSONDecoder().decode(CallDocument.self, from: Data(document)), values[1].bytes ?? [])
    }

    /// A tenant's configured integration, secret included.
    func config(shard: ShardKeys, tenant: String, name: String) async throws -> IntegrationConfig? {
        guard let bytes = try await pool.send("HGET", shard.integrations(tenant: tenant), "i:\(name)").bytes else { return nil }
        return try JSONDecoder().decode(IntegrationConfig.self, from: Data(bytes))
    }

    /// How an attempt ended, as the store records it.
    enum Verdict: Sendable {
        case succeeded(event: Envelope)
        /// Try again at `dueAt` (ms), the attempt spent.
        case retry(dueAt: Int64, error: String)
        /// Not attempted (breaker open, concurrency or rate limit): again at `dueAt`, the attempt given back.
        case deferred(dueAt: Int64)
        /// Given up: the event, and the DLQ entry's fields when the call is parked there.
        case failed(event: Envelope, error: String, deadLetter: [(String, [UInt8])]?)
    }

    /// Records the end of an attempt; false when the call was already finished or re-claimed (stale).
    @discardableResult
    func finish(shard: ShardKeys, member: String, attempt: Int, verdict: Verdict) async throws -> Bool {
        var arguments: [any RedisArgumentConvertible]
        switch verdict {
        case .succeeded(let event):
            arguments = ["success", member, attempt, event.encoded(), 0, "", finishedTTLSeconds]
        case .retry(let dueAt, let error):
            arguments = ["retry", member, attempt, "", Int(dueAt), error, finishedTTLSeconds]
        case .deferred(let dueAt):
            arguments = ["defer", member, attempt, "", Int(dueAt), "", finishedTTLSeconds]
        case .failed(let event, let error, let deadLetter):
            arguments = [deadLetter == nil ? "fail_quietly" : "fail", member, attempt, event.encoded(), 0, error, finishedTTLSeconds]
            for (name, value) in deadLetter ?? [] { arguments += [name, value] }
        }
        let reply = try await pool.evaluate(CallScripts.finish, keys: [shard.integrationCallPrefix + member, shard.integrationDue, shard.events, shard.dlq],
                                            arguments: arguments)
        return reply.string == "ok"
    }

    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Documents of strings, numbers and JSON values only: encoding cannot fail.
        return Array(try! encoder.encode(value))
    }
}
