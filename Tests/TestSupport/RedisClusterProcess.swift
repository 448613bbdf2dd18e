public import Foundation
public import RedisClient
import Synchronization

/// A real Redis Cluster for one test: `primaries` × (1 + replicas) redis-server processes on loopback
/// ports, each in its own temp dir, joined with `redis-cli --cluster create`, stopped at the end.
/// A short `cluster-node-timeout` lets a replica take over a killed primary within seconds;
/// `cluster-require-full-coverage no` keeps the other slots served meanwhile.
public final class RedisClusterProcess: @unchecked Sendable {
    public struct Node: Sendable {
        public let port: Int
        public let directory: URL
        public var endpoint: RedisEndpoint { RedisEndpoint(address: .tcp(host: "127.0.0.1", port: port)) }
    }

    public let nodes: [Node]
    public let root: URL
    public let nodeTimeoutMilliseconds: Int
    private var processes: [Int: ChildProcess] = [:]

    /// The `redis+cluster://` URL listing every node as a seed.
    public var url: String { "redis+cluster://" + nodes.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") }
    public var endpoint: RedisEndpoint { get throws { try RedisEndpoint(url: url) } }

    public init(primaries: Int = 3, replicasPerPrimary: Int = 1, nodeTimeoutMilliseconds: Int = 1000) async throws {
        self.nodeTimeoutMilliseconds = nodeTimeoutMilliseconds
        root = FileManager.default.temporaryDirectory.appendingPathComponent("crm-cluster-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var nodes: [Node] = []
        for port in try Self.freePorts(primaries * (1 + replicasPerPrimary)) {
            let directory = root.appendingPathComponent("\(port)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            nodes.append(Node(port: port, directory: directory))
        }
        self.nodes = nodes
        for node in nodes { try await start(node) }
        let create = try await Self.runTool("/usr/bin/redis-cli", ["--cluster", "create"] + nodes.map { "127.0.0.1:\($0.port)" }
                                            + ["--cluster-replicas", "\(replicasPerPrimary)", "--cluster-yes"])
        guard create.status == 0 else { throw TestHarnessError.timedOut("redis-cli --cluster create: \(create.output.suffix(2000))") }
        guard try await waitUntilHealthy(timeout: .seconds(30), replicasInSync: replicasPerPrimary > 0) else {
            throw TestHarnessError.timedOut("cluster_state:ok on every node")
        }
    }

    deinit {
        for process in processes.values where process.isRunning { process.signal(SIGKILL) }
        for process in processes.values { _ = process.waitBlocking() }
        try? FileManager.default.removeItem(at: root)
    }

    private func start(_ node: Node) async throws {
        let arguments = [
            "--port", "\(node.port)", "--bind", "127.0.0.1", "--dir", node.directory.path, "--daemonize", "no",
            "--cluster-enabled", "yes", "--cluster-config-file", node.directory.appendingPathComponent("nodes.conf").path,
            "--cluster-node-timeout", "\(nodeTimeoutMilliseconds)", "--cluster-require-full-coverage", "no",
            "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
            "--logfile", node.directory.appendingPathComponent("redis.log").path,
        ]
        let process = try ChildProcess(path: RedisServerProcess.redisServerPath, arguments: arguments, environment: ChildProcess.environment, outputPath: "/dev/null")
        processes[node.port] = process
        let probe = RedisConnection(endpoint: node.endpoint, options: RedisConnectionOptions(connectAttempts: 1))
        defer { Task { await probe.close() } }
        let up = await eventually(timeout: .seconds(10), every: .milliseconds(20)) {
            guard process.isRunning else { return true }
            return (try? await probe.send("PING")) == .simpleString("PONG")
        }
        guard up, process.isRunning else {
            let log = (try? String(contentsOf: node.directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
            throw TestHarnessError.redisDidNotStart(log: String(log.suffix(2000)))
        }
    }

    /// Every running node reports `cluster_state:ok` and the same slot map covering all slots; with
    /// `replicasInSync`, every primary also has an online replica (a replica that never synced
    /// is not eligible for promotion).
    public func waitUntilHealthy(timeout: Duration = .seconds(30), replicasInSync: Bool = false) async throws -> Bool {
        try await eventually(timeout: timeout, every: .milliseconds(200)) {
            var maps: Set<String> = []
            for node in nodes where processes[node.port]?.isRunning == true {
                let connection = RedisConnection(endpoint: node.endpoint, options: RedisConnectionOptions(commandTimeout: .seconds(2), connectAttempts: 1))
                defer { Task { await connection.close() } }
                guard let info = try? await connection.send("CLUSTER", "INFO").string, info.contains("cluster_state:ok"),
                      info.contains("cluster_slots_assigned:16384"),
                      let slots = try? await connection.send("CLUSTER", "SLOTS") else { return false }
                maps.insert(Self.primaryRanges(slots))
                if replicasInSync, let role = try? await connection.send("ROLE").array?.first?.string, role == "master" {
                    guard let replication = try? await connection.send("INFO", "replication").string,
                          replication.contains("state=online") else { return false }
                }
            }
            return maps.count == 1
        }
    }

    /// `start-end@port` of every slot range, sorted: equal on nodes that agree on the primaries.
    private static func primaryRanges(_ slots: RedisValue) -> String {
        (slots.array ?? []).compactMap { range -> String? in
            guard let parts = range.array, parts.count >= 3, let start = parts[0].integer, let end = parts[1].integer,
                  let port = parts[2].array?[1].integer else { return nil }
            return "\(start)-\(end)@\(port)"
        }.sorted().joined(separator: ",")
    }

    /// A connection to one node (no routing: what that node itself answers).
    public func connection(to node: Node, timeout: Duration = .seconds(5)) -> RedisConnection {
        RedisConnection(endpoint: node.endpoint, options: RedisConnectionOptions(commandTimeout: timeout, connectAttempts: 2))
    }

    /// The node currently serving `slot` as primary, as a running node tells.
    public func primary(ofSlot slot: Int) async throws -> Node {
        for node in nodes where processes[node.port]?.isRunning == true {
            let connection = connection(to: node)
            defer { Task { await connection.close() } }
            guard let ranges = try? await connection.send("CLUSTER", "SLOTS").array else { continue }
            for range in ranges {
                guard let parts = range.array, parts.count >= 3, let start = parts[0].integer, let end = parts[1].integer,
                      (Int(start)...Int(end)).contains(slot), let port = parts[2].array?[1].integer,
                      let owner = nodes.first(where: { $0.port == Int(port) }) else { continue }
                return owner
            }
        }
        throw TestHarnessError.timedOut("an owner of slot \(slot)")
    }

    public func primaries() async throws -> [Node] {
        var result: [Node] = []
        for node in nodes where processes[node.port]?.isRunning == true {
            let connection = connection(to: node)
            defer { Task { await connection.close() } }
            if let role = try? await connection.send("ROLE").array?.first?.string, role == "master" { result.append(node) }
        }
        return result
    }

    public func nodeID(_ node: Node) async throws -> String {
        let connection = connection(to: node)
        defer { Task { await connection.close() } }
        guard let id = try await connection.send("CLUSTER", "MYID").string else { throw TestHarnessError.timedOut("CLUSTER MYID") }
        return id
    }

    /// Moves `slot` from its primary to `target` the way `redis-cli --cluster reshard` does:
    /// IMPORTING on the target, MIGRATING on the source, MIGRATE of its keys a few at a time
    /// (`pause` between batches keeps the ASK window open for clients), then NODE on every primary.
    public func migrate(slot: Int, to target: Node, keysPerBatch: Int = 2, pause: Duration = .milliseconds(50)) async throws {
        let source = try await primary(ofSlot: slot)
        guard source.port != target.port else { return }
        let sourceID = try await nodeID(source), targetID = try await nodeID(target)
        let from = connection(to: source, timeout: .seconds(30)), to = connection(to: target)
        defer { Task { await from.close(); await to.close() } }
        try await to.send("CLUSTER", "SETSLOT", slot, "IMPORTING", sourceID)
        try await from.send("CLUSTER", "SETSLOT", slot, "MIGRATING", targetID)
        while true {
            let keys = (try await from.send("CLUSTER", "GETKEYSINSLOT", slot, keysPerBatch).array ?? []).compactMap(\.bytes)
            if keys.isEmpty { break }
            try await from.send(RedisCommand("MIGRATE", ["127.0.0.1", target.port, "", 0, 10_000, "REPLACE", "KEYS"] + keys))
            try await Task.sleep(for: pause)
        }
        for node in try await primaries() {
            let connection = connection(to: node)
            _ = try? await connection.send("CLUSTER", "SETSLOT", slot, "NODE", targetID)
            await connection.close()
        }
    }

    /// SIGKILLs a node (its replica is promoted after `cluster-node-timeout`).
    public func kill(_ node: Node) async {
        guard let process = processes[node.port] else { return }
        process.signal(SIGKILL)
        _ = await process.waitForExit(timeout: .seconds(10))
    }

    /// Stops every node without blocking the test's threads (a primary may wait for its replicas
    /// on SIGTERM; SIGKILL after a few seconds).
    public func stop() async {
        for process in processes.values where process.isRunning { process.signal(SIGTERM) }
        for process in processes.values where await process.waitForExit(timeout: .seconds(5)) == nil {
            process.signal(SIGKILL)
            _ = await process.waitForExit(timeout: .seconds(5))
        }
    }

    /// Ports handed out in this process: two clusters starting at once never pick the same one.
    private static let handedOut = Mutex<Set<Int>>([])

    /// Ports whose cluster bus port (port + 10000) is free too. Both stay below the kernel's ephemeral
    /// range (32768 and up), where outgoing connections could take a bus port between check and bind.
    private static func freePorts(_ count: Int) throws -> [Int] {
        var ports: [Int] = []
        var candidate = Int.random(in: 20_000...22_700)
        var tries = 0
        while ports.count < count {
            tries += 1
            if tries > 2000 { throw TestHarnessError.timedOut("free loopback ports") }
            candidate = candidate >= 22_767 ? 20_000 : candidate + 1
            guard isFree(candidate), isFree(candidate + 10_000) else { continue }
            if handedOut.withLock({ $0.insert(candidate).inserted }) { ports.append(candidate) }
        }
        return ports
    }

    private static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: inet_addr("127.0.0.1"))
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    private static func runTool(_ path: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("crm-tool-\(UUID().uuidString.prefix(8)).log")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = try ChildProcess(path: path, arguments: arguments, environment: ChildProcess.environment, outputPath: output.path)
        let status = await process.waitForExit(timeout: .seconds(60)) ?? -1
        return (status, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }
}
