import Dispatch
import Foundation
public import Logging

/// How a connection (re)connects and how long it waits.
public struct RedisConnectionOptions: Sendable {
    public var connectTimeout: Duration
    /// The socket read/write timeout; must exceed the longest `BLOCK` used on the connection.
    public var commandTimeout: Duration
    /// Connect attempts per command before giving up, with capped exponential backoff and jitter.
    public var connectAttempts: Int
    public var initialBackoff: Duration
    public var maximumBackoff: Duration
    /// Sent as `CLIENT SETNAME` so `CLIENT LIST` shows who is who.
    public var clientName: String?
    /// Cluster only: how long a command that surely did not run waits for a failover (a replica's
    /// promotion, a node coming back) before its error is returned.
    public var clusterRetryWindow: Duration

    public init(
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(10),
        connectAttempts: Int = 5,
        initialBackoff: Duration = .milliseconds(20),
        maximumBackoff: Duration = .seconds(1),
        clientName: String? = nil,
        clusterRetryWindow: Duration = .seconds(15)
    ) {
        self.clusterRetryWindow = clusterRetryWindow
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.connectAttempts = max(1, connectAttempts)
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
        self.clientName = clientName
    }

    /// The pause before attempt `attempt` (1-based, the first attempt waits nothing).
    func backoff(beforeAttempt attempt: Int) -> Duration {
        guard attempt > 1 else { return .zero }
        let exponent = min(attempt - 2, 20)
        let uncapped = initialBackoff * (1 << exponent)
        let capped = min(uncapped, maximumBackoff)
        // Full jitter in the upper half keeps many reconnecting clients from stampeding together.
        return capped / 2 + capped / 2 * Double.random(in: 0...1)
    }
}

/// One connection to Redis. Every blocking hiredis call runs on the connection's own serial
/// dispatch queue (never on Swift concurrency's cooperative pool) and is exposed as `async`.
/// A broken connection is reconnected on the next call, with backoff. All methods throw `RedisError`.
/// For a cluster endpoint (`redis+cluster://`) the connection is a router over one connection per
/// node: each command goes to the primary owning its keys' slot (see `ClusterRouter`).
public final class RedisConnection: @unchecked Sendable {
    public let endpoint: RedisEndpoint
    public let options: RedisConnectionOptions
    private let logger: Logger
    private let queue: DispatchQueue
    /// Set for a cluster endpoint: then no hiredis context of its own is used.
    let cluster: ClusterRouter?
    /// Cluster node connections check that the node did not close an idle socket before each use,
    /// so a command after a failover is sent to a live node instead of failing with an unknown outcome.
    private let checksPeerBeforeUse: Bool
    // Touched only on `queue`.
    private var context: HiredisContext?
    private var isClosed = false

    public convenience init(endpoint: RedisEndpoint, options: RedisConnectionOptions = .init(), logger: Logger = Logger(label: "redis")) {
        self.init(endpoint: endpoint, options: options, logger: logger, topology: nil)
    }

    /// A connection to one node of a cluster (used by `ClusterRouter`).
    convenience init(clusterNode endpoint: RedisEndpoint, options: RedisConnectionOptions, logger: Logger) {
        self.init(endpoint: endpoint, options: options, logger: logger, topology: nil, checksPeerBeforeUse: true)
    }

    /// `topology` shares one cluster slot map among a pool's connections.
    init(endpoint: RedisEndpoint, options: RedisConnectionOptions, logger: Logger, topology: ClusterTopology?, checksPeerBeforeUse: Bool = false) {
        self.checksPeerBeforeUse = checksPeerBeforeUse
        self.endpoint = endpoint
        self.options = options
        self.logger = logger
        self.queue = DispatchQueue(label: "redis.connection.\(endpoint)")
        if endpoint.isCluster {
            let topology = topology ?? ClusterTopology(seed: endpoint, options: options, logger: logger)
            self.cluster = ClusterRouter(topology: topology, options: options, logger: logger)
        } else {
            self.cluster = nil
        }
    }

    /// Whether commands are routed over a Redis Cluster.
    public var isCluster: Bool { cluster != nil }

    public convenience init(url: String, options: RedisConnectionOptions = .init(), logger: Logger = Logger(label: "redis")) throws {
        self.init(endpoint: try RedisEndpoint(url: url), options: options, logger: logger)
    }

    /// Sends one command; an error reply is thrown as `RedisError.server`.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        let reply: RedisValue
        if let cluster { reply = try await cluster.send(command) } else { reply = try await single(command) }
        if case .error(let message) = reply { throw RedisError.fromReply(message) }
        return reply
    }

    @discardableResult
    public func send(_ name: String, _ arguments: any RedisArgumentConvertible...) async throws -> RedisValue {
        try await send(RedisCommand(name, arguments))
    }

    /// Sends many commands in one write and reads all replies; error replies stay in the array as `.error`.
    /// On a cluster the commands are grouped by node and a `MULTI` … `EXEC` block must be single-slot.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        guard !commands.isEmpty else { return [] }
        if let cluster { return try await cluster.pipeline(commands) }
        return try await run { context in try context.executePipeline(commands) }
    }

    /// One command on this connection's own socket; an error reply is returned, not thrown.
    func single(_ command: RedisCommand) async throws -> RedisValue {
        try await run { context in try context.execute(command) }
    }

    /// Drops the socket; later calls fail with `.closed`.
    public func close() async {
        await cluster?.close()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                self.isClosed = true
                self.context?.close()
                self.context = nil
                continuation.resume()
            }
        }
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (HiredisContext) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            queue.async {
                do {
                    let context = try self.connectedContext()
                    let result = try body(context)
                    if !context.isOpen { self.context = nil }
                    continuation.resume(returning: result)
                } catch {
                    if self.context?.isOpen == false { self.context = nil }
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    /// On `queue`: the live context, connecting (with backoff) when there is none.
    private func connectedContext() throws(RedisError) -> HiredisContext {
        if isClosed { throw .closed }
        if let context, context.isOpen {
            if !checksPeerBeforeUse || !context.peerHasClosed { return context }
            context.close()
        }
        context = nil
        var lastError = RedisError.connectionFailed(endpoint: endpoint.description, reason: "no attempt made")
        for attempt in 1...options.connectAttempts {
            let pause = options.backoff(beforeAttempt: attempt)
            if pause > .zero { Thread.sleep(forTimeInterval: pause.seconds) }
            do {
                let fresh = try HiredisContext.connect(to: endpoint, connectTimeout: options.connectTimeout, socketTimeout: options.commandTimeout)
                try handshake(fresh)
                context = fresh
                if attempt > 1 { logger.info("redis reconnected", metadata: ["redis.endpoint": "\(endpoint)", "redis.attempts": "\(attempt)"]) }
                return fresh
            } catch {
                lastError = error
                if !error.isRetryable { throw error }
                logger.debug("redis connect failed", metadata: ["redis.endpoint": "\(endpoint)", "redis.attempt": "\(attempt)", "error": "\(error)"])
            }
        }
        throw lastError
    }

    /// AUTH as the ACL user, SELECT the database and name the client.
    private func handshake(_ context: HiredisContext) throws(RedisError) {
        var commands: [RedisCommand] = []
        if let password = endpoint.password {
            if let username = endpoint.username {
                commands.append(RedisCommand("AUTH", [username, password]))
            } else {
                commands.append(RedisCommand("AUTH", [password]))
            }
        }
        if endpoint.database != 0 { commands.append(RedisCommand("SELECT", [endpoint.database])) }
        if let name = options.clientName { commands.append(RedisCommand("CLIENT", ["SETNAME", name])) }
        guard !commands.isEmpty else { return }
        for (command, reply) in zip(commands, try context.executePipeline(commands)) {
            if case .error(let message) = reply {
                context.close()
                let error = RedisError.fromReply(message)
                if case .server(let code, _) = error, code == "LOADING" { throw error }
                throw .server(code: error.serverCode ?? "ERR", message: "\(command.name) failed: \(message)")
            }
        }
    }
}

extension RedisError {
    /// The first word of a server error (`WRONGTYPE`, `NOSCRIPT`, …), nil for other errors.
    public var serverCode: String? {
        if case .server(let code, _) = self { return code }
        return nil
    }
}

extension Duration {
    /// The duration in seconds as a floating-point number.
    public var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
