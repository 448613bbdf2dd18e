public import Contracts
public import CrmRedis
import Synchronization

/// The Level 1 API's storage for an app that keeps its CRM in-process: every record a dictionary, each
/// commit applied under one lock with the same checks as the Redis commit script (idempotency, version
/// checks, all or nothing). Events are kept in order, so `history()` works as over the audit trail.
/// Command ids are remembered for the life of the process (no TTL), and nothing survives a restart:
/// an app that needs durability implements `CrmStorage` over its own database.
public final class InMemoryCrmStorage: CrmStorage, CrmEventLog {
    private struct State {
        var hashes: [String: [String: [UInt8]]] = [:]
        var outcomes: [String: [UInt8]] = [:]
        var events: [Envelope] = []
        var commands: [Envelope] = []
    }

    private let state = Mutex(State())

    public init() {}

    public func read(_ reads: [HashRead]) async throws -> [[[UInt8]?]] {
        state.withLock { state in reads.map { read in read.fields.map { state.hashes[read.key]?[$0] } } }
    }

    public func readAll(_ key: String) async throws -> [(field: String, value: [UInt8])] {
        state.withLock { state in (state.hashes[key] ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    public func commit(_ request: CommitRequest) async throws -> CommitResult {
        state.withLock { state in
            if let prior = state.outcomes[request.idempotencyKey] { return .replayed(firstOutcome: prior) }
            for write in request.writes {
                let actual = state.hashes[write.key]?["v"].map { String(decoding: $0, as: UTF8.self) } ?? "0"
                if let expected = write.expectedVersion, actual != String(expected) {
                    return .conflict(key: write.key, actualVersion: Int(actual) ?? 0)
                }
            }
            for write in request.writes {
                var hash = state.hashes[write.key] ?? [:]
                hash["v"] = Array(String(write.newVersion).utf8)
                for (name, value) in write.fields { hash[name] = value }
                state.hashes[write.key] = hash
            }
            state.events += request.events + (request.outcome.map { [$0] } ?? [])
            state.commands += request.commands.map(\.envelope)
            state.outcomes[request.idempotencyKey] = request.outcome?.encoded() ?? Array("-".utf8)
            return .committed
        }
    }

    /// Takes the commands emitted for other services since the last call, in order.
    public func takeCommands() -> [Envelope] {
        state.withLock { state in
            defer { state.commands.removeAll() }
            return state.commands
        }
    }

    /// Every event and outcome committed so far, in order; for one tenant when given.
    public func events(tenant: String? = nil) -> [Envelope] {
        state.withLock { state in tenant.map { tenant in state.events.filter { $0.tenant == tenant } } ?? state.events }
    }
}
