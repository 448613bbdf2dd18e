public import Foundation
public import RedisClient

/// A real redis-server for one test: its own temp dir and unix socket, stopped when the test ends.
public final class RedisServerProcess: @unchecked Sendable {
    public let directory: URL
    public let socketPath: String
    public let appendOnly: Bool
    /// More `redis-server` arguments, e.g. `--aclfile PATH`.
    public let extraArguments: [String]
    /// Who the harness itself connects as (needed once an ACL file turns the default user off).
    public let adminUser: (name: String, password: String)?
    private var process: ChildProcess?

    /// The URL services and clients use to reach this server.
    public var url: String { "unix://\(socketPath)" }
    public var endpoint: RedisEndpoint {
        RedisEndpoint(address: .unixSocket(path: socketPath), username: adminUser?.name, password: adminUser?.password)
    }

    /// The URL of this server for an ACL user.
    public func url(user: String, password: String) -> String { "unix://\(user):\(password)@\(socketPath)" }

    public init(appendOnly: Bool = false, extraArguments: [String] = [], adminUser: (name: String, password: String)? = nil) async throws {
        self.extraArguments = extraArguments
        self.adminUser = adminUser
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-redis-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socketPath = directory.appendingPathComponent("redis.sock").path
        self.appendOnly = appendOnly
        try await start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    public func start() async throws {
        let arguments = [
            "--port", "0", "--unixsocket", socketPath, "--unixsocketperm", "700",
            "--dir", directory.path, "--save", "", "--appendonly", appendOnly ? "yes" : "no",
            "--logfile", directory.appendingPathComponent("redis.log").path, "--daemonize", "no",
        ] + extraArguments
        let server = try ChildProcess(path: Self.redisServerPath, arguments: arguments, environment: ChildProcess.environment, outputPath: "/dev/null")
        process = server
        let probe = RedisConnection(endpoint: endpoint, options: RedisConnectionOptions(connectAttempts: 1))
        defer { Task { await probe.close() } }
        let up = await eventually(timeout: .seconds(10), every: .milliseconds(10)) {
            guard server.isRunning else { return true }
            return (try? await probe.send("PING")) == .simpleString("PONG")
        }
        if up, server.isRunning { return }
        let log = (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
        throw TestHarnessError.redisDidNotStart(log: String(log.suffix(2000)))
    }

    /// Stops the server (SIGKILL when `hard`, else SIGTERM so it finishes its AOF), keeping its directory for a restart.
    public func stop(hard: Bool = false) {
        guard let server = process else { return }
        server.signal(hard ? SIGKILL : SIGTERM)
        server.waitBlocking()
        process = nil
        try? FileManager.default.removeItem(atPath: socketPath)
    }

    public func restart() async throws {
        stop()
        try await start()
    }

    /// A fresh connection to this server.
    public func connection(timeout: Duration = .seconds(5)) -> RedisConnection {
        RedisConnection(endpoint: endpoint, options: RedisConnectionOptions(commandTimeout: timeout))
    }

    static var redisServerPath: String {
        ProcessInfo.processInfo.environment["CRM_REDIS_SERVER"] ?? "/usr/bin/redis-server"
    }
}

public enum TestHarnessError: Error, CustomStringConvertible {
    case redisDidNotStart(log: String)
    case binaryMissing(String)
    case timedOut(String)

    public var description: String {
        switch self {
        case .redisDidNotStart(let log): return "redis-server did not start:\n\(log)"
        case .binaryMissing(let path): return "missing binary \(path): run `swift build` first (make test does)"
        case .timedOut(let what): return "timed out waiting for \(what)"
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
public func eventually(timeout: Duration = .seconds(10), every interval: Duration = .milliseconds(20), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
