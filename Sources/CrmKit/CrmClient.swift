public import Contracts
public import CrmRedis
import Foundation
public import RedisClient

/// A command's outcome as the services reported it.
public struct CommandResult: Sendable {
    /// The `command.accepted` or `command.rejected` event.
    public let outcome: Envelope
    public var accepted: Bool { outcome.type == MessageType.commandAccepted }
    public var rejectionCode: String? { outcome.payload["code"]?.stringValue }
}

public enum CrmClientError: Error, Sendable, CustomStringConvertible {
    case noStream(type: String)
    case noOutcome(commandID: String, waited: Duration)
    case invalid(EnvelopeError)
    case unreadableOutcome(String)

    public var description: String {
        switch self {
        case .noStream(let type): return "no command stream takes '\(type)'; is it a command type of contracts/v1?"
        case .noOutcome(let id, let waited): return "no outcome for command \(id) within \(waited); are the services running? (crmctl status)"
        case .invalid(let error): return "the envelope is invalid: \(error)"
        case .unreadableOutcome(let why): return "the outcome could not be read: \(why)"
        }
    }
}

/// Publishes commands onto their shard's stream and waits for their outcome on the reply list:
/// what any language does with XADD + BLPOP (DESIGN §3).
public final class CrmClient: Sendable {
    public let pool: RedisPool
    public let router: ShardRouter

    public init(endpoint: RedisEndpoint, shards: Int, poolSize: Int = 4) {
        // The socket timeout outlasts the longest outcome wait (BLPOP) a caller may ask for.
        self.pool = RedisPool(endpoint: endpoint, size: poolSize, options: RedisConnectionOptions(commandTimeout: .seconds(125)))
        self.router = ShardRouter(shards: shards)
    }

    /// Writes the envelope to its command stream; returns the stream entry id.
    @discardableResult
    public func publish(_ envelope: Envelope) async throws -> String {
        guard let stream = CommandRouting.stream(forType: envelope.type) else { throw CrmClientError.noStream(type: envelope.type) }
        return try await publishRaw(envelope.encoded(), tenant: envelope.tenant, stream: stream)
    }

    /// Writes bytes as they are (no checks) to a tenant's command stream: for replays and tests of bad input.
    @discardableResult
    public func publishRaw(_ bytes: [UInt8], tenant: String, stream: CommandStream) async throws -> String {
        let shard = router.keys(forTenant: tenant)
        return try await pool.withConnection { try await $0.xadd(shard.commands(stream), fields: [("envelope", bytes)]) }
    }

    /// Waits up to `timeout` (at most 120 s) for the command's outcome; nil when none came.
    public func awaitOutcome(commandID: String, tenant: String, timeout: Duration) async throws -> CommandResult? {
        let shard = router.keys(forTenant: tenant)
        let seconds = String(format: "%.3f", min(max(timeout.seconds, 0.001), 120))
        let reply = try await pool.send("BLPOP", shard.reply(commandID: commandID), seconds)
        guard let pair = reply.array, pair.count == 2, let bytes = pair[1].bytes else { return nil }
        do {
            return CommandResult(outcome: try EnvelopeReader().read(bytes))
        } catch {
            throw CrmClientError.unreadableOutcome("\(error)")
        }
    }

    /// Publishes and waits for the outcome.
    public func send(_ envelope: Envelope, timeout: Duration = .seconds(10)) async throws -> CommandResult {
        try await publish(envelope)
        guard let result = try await awaitOutcome(commandID: envelope.id, tenant: envelope.tenant, timeout: timeout) else {
            throw CrmClientError.noOutcome(commandID: envelope.id, waited: timeout)
        }
        return result
    }

    /// A record's audit history, oldest first, for its tenant only (what `history()` of the Level 1 API returns).
    public func history(tenant: String, entity: String, id: String) async throws -> [AuditRecord] {
        try await pool.withConnection { connection in
            try await AuditTrail.history(tenant: tenant, subject: AuditSubject(entity: entity, id: id), router: router, connection: connection)
        }
    }

    public func close() async { await pool.close() }
}
