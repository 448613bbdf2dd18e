public import Logging

/// A bounded set of connections shared by many tasks. A caller waits at most `waitTimeout` for a free
/// connection and then gets `RedisError.poolExhausted`.
public actor RedisPool {
    public nonisolated let endpoint: RedisEndpoint
    public nonisolated let size: Int
    private let options: RedisConnectionOptions
    private let waitTimeout: Duration
    private let logger: Logger
    private var idle: [RedisConnection] = []
    private var created = 0
    private var waiters: [(id: Int, continuation: CheckedContinuation<RedisConnection, any Error>)] = []
    private var nextWaiterID = 0
    private var isClosed = false
    /// One slot map for every connection of the pool (cluster endpoints only).
    private nonisolated let topology: ClusterTopology?

    public init(endpoint: RedisEndpoint, size: Int = 4, options: RedisConnectionOptions = .init(), waitTimeout: Duration = .seconds(2), logger: Logger = Logger(label: "redis.pool")) {
        self.endpoint = endpoint
        self.size = max(1, size)
        self.options = options
        self.waitTimeout = waitTimeout
        self.logger = logger
        self.topology = endpoint.isCluster ? ClusterTopology(seed: endpoint, options: options, logger: logger) : nil
    }

    /// On a cluster, how many `MOVED` and `ASK` redirects the pool's connections followed; nil otherwise.
    public nonisolated var clusterRedirects: (moved: Int, ask: Int)? {
        topology?.redirects
    }

    /// Lends a connection to `body` and takes it back afterwards, whatever happens.
    public nonisolated func withConnection<T: Sendable>(_ body: (RedisConnection) async throws -> T) async throws -> T {
        let connection = try await acquire()
        do {
            let result = try await body(connection)
            await release(connection)
            return result
        } catch {
            await release(connection)
            throw error
        }
    }

    @discardableResult
    public nonisolated func send(_ command: RedisCommand) async throws -> RedisValue {
        try await withConnection { try await $0.send(command) }
    }

    @discardableResult
    public nonisolated func send(_ name: String, _ arguments: any RedisArgumentConvertible...) async throws -> RedisValue {
        let command = RedisCommand(name, arguments)
        return try await withConnection { try await $0.send(command) }
    }

    public nonisolated func pipeline(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        try await withConnection { try await $0.pipeline(commands) }
    }

    /// Closes idle connections and fails waiters; connections in use close when returned.
    public func close() async {
        isClosed = true
        let connections = idle
        idle.removeAll()
        for waiter in waiters { waiter.continuation.resume(throwing: RedisError.closed) }
        waiters.removeAll()
        for connection in connections { await connection.close() }
    }

    private func acquire() async throws -> RedisConnection {
        if isClosed { throw RedisError.closed }
        if let connection = idle.popLast() { return connection }
        if created < size {
            created += 1
            return RedisConnection(endpoint: endpoint, options: options, logger: logger, topology: topology)
        }
        let id = nextWaiterID
        nextWaiterID += 1
        let timeout = waitTimeout
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            await self?.expireWaiter(id)
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            waiters.append((id, continuation))
        }
    }

    private func release(_ connection: RedisConnection) async {
        if isClosed {
            await connection.close()
            return
        }
        if !waiters.isEmpty {
            waiters.removeFirst().continuation.resume(returning: connection)
        } else {
            idle.append(connection)
        }
    }

    private func expireWaiter(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        let waiter = waiters.remove(at: index)
        let millis = Int(waitTimeout.seconds * 1000)
        waiter.continuation.resume(throwing: RedisError.poolExhausted(waitedMilliseconds: millis))
    }
}
