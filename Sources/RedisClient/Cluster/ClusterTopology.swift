import Foundation
import Logging
import Synchronization

/// The slot map of one Redis Cluster (which primary owns each of the 16384 slots), shared by every
/// connection of a pool. Learned from `CLUSTER SLOTS` of whichever known node answers; patched slot
/// by slot from `MOVED` replies and refreshed (one refresh at a time) when a redirect or an
/// unreachable node says it is stale.
final class ClusterTopology: Sendable {
    let seed: RedisEndpoint
    private let options: RedisConnectionOptions
    private let logger: Logger
    private let state = Mutex(State())
    private let refreshing = Mutex<Task<Void, any Error>?>(nil)
    /// Redirects followed by the connections sharing this map (for tests and diagnostics).
    let movedCount = Atomic<Int>(0)
    let askCount = Atomic<Int>(0)
    var redirects: (moved: Int, ask: Int) { (movedCount.load(ordering: .relaxed), askCount.load(ordering: .relaxed)) }
    private static let unknown: Int32 = -1
    /// How old the map may be before a redirect asks for a new one (MOVED bursts during a resharding).
    private static let minimumRefreshInterval = Duration.milliseconds(100)

    private struct State {
        var owners = [Int32](repeating: ClusterTopology.unknown, count: ClusterSlot.count)
        var nodes: [RedisEndpoint] = []
        var refreshedAt: ContinuousClock.Instant?
    }

    init(seed: RedisEndpoint, options: RedisConnectionOptions, logger: Logger) {
        precondition(seed.isCluster, "a cluster topology needs cluster seeds")
        self.seed = seed
        self.options = options
        self.logger = logger
    }

    /// The primary owning `slot`, nil while unknown.
    func owner(of slot: Int) -> RedisEndpoint? {
        state.withLock { state in
            let index = state.owners[slot]
            return index == Self.unknown ? nil : state.nodes[Int(index)]
        }
    }

    /// Every primary that owns a slot, in a stable order (SCAN visits them in turn).
    func primaries() -> [RedisEndpoint] {
        state.withLock { state in
            let used = Set(state.owners.filter { $0 != Self.unknown })
            return state.nodes.indices.filter { used.contains(Int32($0)) }.map { state.nodes[$0] }
        }
    }

    /// What a `MOVED` reply says: `slot` now lives at `node`.
    func learn(slot: Int, movedTo node: RedisEndpoint) {
        state.withLock { state in
            let index = state.nodes.firstIndex(of: node) ?? {
                state.nodes.append(node)
                return state.nodes.count - 1
            }()
            state.owners[slot] = Int32(index)
        }
    }

    /// The owner of `slot`, refreshing the map first when the slot is not known yet.
    func resolve(slot: Int) async throws -> RedisEndpoint {
        if let node = owner(of: slot) { return node }
        try await refresh(force: true)
        guard let node = owner(of: slot) else { throw RedisError.clusterUnavailable(reason: "no primary serves slot \(slot)") }
        return node
    }

    /// Any primary, for a command without keys.
    func anyPrimary() async throws -> RedisEndpoint {
        if let node = primaries().first { return node }
        try await refresh(force: true)
        guard let node = primaries().first else { throw RedisError.clusterUnavailable(reason: "no primary is known") }
        return node
    }

    /// Reloads the slot map. Concurrent callers share one refresh; without `force` a map younger
    /// than `minimumRefreshInterval` is kept.
    func refresh(force: Bool = false) async throws {
        if !force, let at = state.withLock({ $0.refreshedAt }), ContinuousClock.now - at < Self.minimumRefreshInterval { return }
        let task = refreshing.withLock { current -> Task<Void, any Error> in
            if let current { return current }
            let task = Task { try await self.load() }
            current = task
            return task
        }
        defer { refreshing.withLock { if $0 == task { $0 = nil } } }
        try await task.value
    }

    /// Asks the known nodes, then the seeds, until one answers `CLUSTER SLOTS`.
    private func load() async throws {
        let known = state.withLock { $0.nodes }
        var candidates = known
        for seedAddress in seed.clusterSeeds where !candidates.contains(seed.node(seedAddress)) { candidates.append(seed.node(seedAddress)) }
        var failures: [String] = []
        for node in candidates {
            let connection = RedisConnection(endpoint: node, options: RedisConnectionOptions(
                connectTimeout: min(options.connectTimeout, .seconds(1)), commandTimeout: .seconds(2), connectAttempts: 1))
            defer { Task { await connection.close() } }
            do {
                let reply = try await connection.send("CLUSTER", "SLOTS")
                let (owners, nodes) = try Self.parse(reply, askedNode: node, template: seed)
                guard owners.contains(where: { $0 != Self.unknown }) else {
                    failures.append("\(node): no slot assigned")
                    continue
                }
                state.withLock { state in
                    state.owners = owners
                    state.nodes = nodes
                    state.refreshedAt = .now
                }
                logger.debug("cluster slot map loaded", metadata: ["redis.node": "\(node)", "redis.primaries": "\(Set(owners).count)"])
                return
            } catch {
                failures.append("\(node): \(error)")
            }
        }
        throw RedisError.clusterUnavailable(reason: "no node told the slot map (\(failures.joined(separator: "; ")))")
    }

    /// Parses `CLUSTER SLOTS`: `[[start, end, [host, port, id…], replicas…], …]`. An empty host
    /// means the node that was asked.
    static func parse(_ reply: RedisValue, askedNode: RedisEndpoint, template: RedisEndpoint) throws(RedisError) -> ([Int32], [RedisEndpoint]) {
        guard let ranges = reply.array else { throw .unexpectedReply(command: "CLUSTER SLOTS", expected: "array", got: reply.kindName) }
        var owners = [Int32](repeating: unknown, count: ClusterSlot.count)
        var nodes: [RedisEndpoint] = []
        for range in ranges {
            guard let parts = range.array, parts.count >= 3, let start = parts[0].integer, let end = parts[1].integer,
                  let primary = parts[2].array, primary.count >= 2, let host = primary[0].string, let port = primary[1].integer,
                  (0..<Int64(ClusterSlot.count)).contains(start), (start..<Int64(ClusterSlot.count)).contains(end) else {
                throw .unexpectedReply(command: "CLUSTER SLOTS", expected: "[start, end, [host, port, id]]", got: range.kindName)
            }
            var address = RedisEndpoint.Address.tcp(host: host, port: Int(port))
            if host.isEmpty || host == "?", case .tcp(let askedHost, _) = askedNode.address { address = .tcp(host: askedHost, port: Int(port)) }
            let node = template.node(address)
            let index = nodes.firstIndex(of: node) ?? {
                nodes.append(node)
                return nodes.count - 1
            }()
            for slot in Int(start)...Int(end) { owners[slot] = Int32(index) }
        }
        return (owners, nodes)
    }
}
