import Logging
import Synchronization

/// What a cluster-mode `RedisConnection` does with a command: finds the slot of its keys, sends it
/// to the primary owning that slot on a per-node connection, follows `MOVED` (and patches the slot
/// map) and `ASK` (one `ASKING` first), and, while a primary is unreachable or the cluster reports
/// itself down (a failover), retries for up to `clusterRetryWindow` what surely did not run. A command
/// whose outcome is unknown (connection lost mid-reply) is not resent: its error goes to the caller.
final class ClusterRouter: Sendable {
    let topology: ClusterTopology
    private let options: RedisConnectionOptions
    private let logger: Logger
    private let connections = Mutex<[String: RedisConnection]>([:])
    let blockingReads = ClusterBlockingReads()
    static let maxRedirects = 16

    init(topology: ClusterTopology, options: RedisConnectionOptions, logger: Logger) {
        self.topology = topology
        self.options = options
        self.logger = logger
    }

    // MARK: One command

    /// The raw reply (error replies included) of `command`, sent to the owner of its keys' slot.
    func send(_ command: RedisCommand) async throws -> RedisValue {
        if command.name == "SCAN" { return try await scan(command) }
        return try await execute([command], slot: try Self.slot(of: [command]), name: command.name)[0]
    }

    /// The raw reply of a keyless command that must run on the owner of `slot` (`SCRIPT LOAD` before
    /// an `EVALSHA` there); any primary when `slot` is nil.
    func send(_ command: RedisCommand, slot: Int?) async throws -> RedisValue {
        try await execute([command], slot: slot, name: command.name)[0]
    }

    // MARK: Pipelines

    /// Sends the commands grouped by owning node (one pipeline per node, the nodes concurrently)
    /// and returns the replies in the order of `commands`. A `MULTI` … `EXEC` block stays together
    /// and must be single-slot; commands that were redirected are resent one by one.
    func pipeline(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        let units = try Self.units(of: commands)
        var byNode: [RedisEndpoint: [Int]] = [:]
        var order: [RedisEndpoint] = []
        for (index, unit) in units.enumerated() {
            let node: RedisEndpoint
            do {
                if let slot = unit.slot { node = try await topology.resolve(slot: slot) } else { node = try await topology.anyPrimary() }
            } catch let error as RedisError where Self.surelyNotRun(error) {
                node = topology.seed.node(topology.seed.clusterSeeds[0])
            }
            if byNode[node] == nil { order.append(node) }
            byNode[node, default: []].append(index)
        }
        // Per unit: its replies, or nil when it has to be sent again on its own.
        var unitReplies = [[RedisValue]?](repeating: nil, count: units.count)
        let batches = try await withThrowingTaskGroup(of: (indexes: [Int], replies: [RedisValue]?).self) { group in
            for node in order {
                let indexes = byNode[node]!
                let flat = indexes.flatMap { units[$0].commands }
                let connection = self.connection(to: node)
                group.addTask {
                    do {
                        return (indexes, try await connection.pipeline(flat))
                    } catch let error as RedisError where Self.surelyNotRun(error) {
                        return (indexes, nil)
                    }
                }
            }
            var batches: [(indexes: [Int], replies: [RedisValue]?)] = []
            for try await batch in group { batches.append(batch) }
            return batches
        }
        for batch in batches {
            guard let replies = batch.replies else { continue }
            var offset = 0
            for index in batch.indexes {
                let count = units[index].commands.count
                let slice = Array(replies[offset..<(offset + count)])
                offset += count
                if !slice.contains(where: Self.needsResend) { unitReplies[index] = slice }
            }
        }
        var result: [RedisValue] = []
        result.reserveCapacity(commands.count)
        for (index, unit) in units.enumerated() {
            if let replies = unitReplies[index] {
                result += replies
            } else {
                result += try await execute(unit.commands, slot: unit.slot, name: unit.commands[unit.commands.count > 1 ? 1 : 0].name)
            }
        }
        return result
    }

    // MARK: Sending with redirects

    /// Sends `unit` (one command, or a MULTI … EXEC block) to the owner of `slot` and follows
    /// redirects; retries, within `options.clusterRetryWindow`, what did not run because a node was unreachable,
    /// the slot unowned (failover) or the keys mid-migration (`TRYAGAIN`).
    func execute(_ unit: [RedisCommand], slot: Int?, name: String, lane: String? = nil) async throws -> [RedisValue] {
        let clock = ContinuousClock()
        let deadline = clock.now + options.clusterRetryWindow
        var redirects = 0
        var askTarget: RedisEndpoint?
        var pause = Duration.milliseconds(50)
        while true {
            let node: RedisEndpoint
            var replies: [RedisValue]
            do {
                if let askTarget { node = askTarget } else if let slot { node = try await topology.resolve(slot: slot) } else { node = try await topology.anyPrimary() }
                let connection = self.connection(to: node, lane: lane)
                if askTarget != nil {
                    replies = Array(try await connection.pipeline([RedisCommand("ASKING")] + unit).dropFirst())
                } else if unit.count == 1 {
                    replies = [try await connection.single(unit[0])]
                } else {
                    replies = try await connection.pipeline(unit)
                }
            } catch let error as RedisError where Self.surelyNotRun(error) && clock.now < deadline {
                logger.debug("cluster node unreachable, retrying", metadata: ["redis.command": "\(name)", "error": "\(error)"])
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(500))
                try? await topology.refresh(force: true)
                askTarget = nil
                continue
            } catch let error as RedisError {
                if case .connectionLost = error { Task { try? await self.topology.refresh(force: true) } }
                if case .timeout = error { Task { try? await self.topology.refresh(force: true) } }
                throw error
            }
            askTarget = nil
            if let redirect = replies.lazy.compactMap(ClusterRedirect.init).first {
                redirects += 1
                guard redirects <= Self.maxRedirects else { throw RedisError.redirectLoop(command: name, redirects: redirects) }
                var address = redirect.address
                if case .tcp(let host, let port) = address, host.isEmpty, case .tcp(let askedHost, _) = node.address { address = .tcp(host: askedHost, port: port) }
                let target = topology.seed.node(address)
                switch redirect.kind {
                case .moved:
                    topology.movedCount.add(1, ordering: .relaxed)
                    topology.learn(slot: redirect.slot, movedTo: target)
                    Task { try? await self.topology.refresh() }
                case .ask where unit.count == 1:
                    topology.askCount.add(1, ordering: .relaxed)
                    askTarget = target
                case .ask:
                    // A transaction cannot be ASKed through; the slot's migration finishes soon.
                    try await Task.sleep(for: .milliseconds(20))
                }
                continue
            }
            if let code = replies.lazy.compactMap(Self.retryableClusterCode).first, clock.now < deadline {
                logger.debug("cluster busy, retrying", metadata: ["redis.command": "\(name)", "redis.code": "\(code)"])
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(500))
                if code == "CLUSTERDOWN" { try? await topology.refresh(force: true) }
                continue
            }
            return replies
        }
    }

    /// Errors after which the command surely was not executed: safe to send again.
    static func surelyNotRun(_ error: RedisError) -> Bool {
        switch error {
        case .connectionFailed, .clusterUnavailable, .poolExhausted: return true
        default: return false
        }
    }

    /// Error replies a cluster gives while a slot moves or a failover runs (nothing was executed).
    private static func retryableClusterCode(_ reply: RedisValue) -> String? {
        guard case .error(let message) = reply else { return nil }
        let code = message.prefix { $0 != " " }
        return code == "TRYAGAIN" || code == "CLUSTERDOWN" ? String(code) : nil
    }

    private static func needsResend(_ reply: RedisValue) -> Bool {
        ClusterRedirect(reply) != nil || retryableClusterCode(reply) != nil
    }

    // MARK: Slots and units

    struct Unit {
        var commands: [RedisCommand]
        var slot: Int?
    }

    /// The common slot of the commands' keys; nil when they have none.
    static func slot(of commands: [RedisCommand]) throws(RedisError) -> Int? {
        var slot: Int?
        var keys: [String] = []
        for command in commands {
            for key in CommandKeys.keys(of: command) {
                keys.append(String(decoding: key, as: UTF8.self))
                let keySlot = ClusterSlot.slot(of: key)
                if let slot, slot != keySlot {
                    throw .crossSlot(command: commands.count > 1 ? "MULTI" : command.name, keys: keys + Self.remainingKeys(commands, after: keys.count))
                }
                slot = keySlot
            }
        }
        return slot
    }

    private static func remainingKeys(_ commands: [RedisCommand], after count: Int) -> [String] {
        Array(commands.flatMap { CommandKeys.keys(of: $0) }.dropFirst(count).map { String(decoding: $0, as: UTF8.self) })
    }

    /// Splits a pipeline into single commands and MULTI … EXEC/DISCARD blocks.
    static func units(of commands: [RedisCommand]) throws(RedisError) -> [Unit] {
        var units: [Unit] = []
        var index = 0
        while index < commands.count {
            var end = index + 1
            if commands[index].name == "MULTI" {
                while end < commands.count, !["EXEC", "DISCARD"].contains(commands[end - 1].name) || end - 1 == index { end += 1 }
            }
            let block = Array(commands[index..<end])
            units.append(Unit(commands: block, slot: try slot(of: block)))
            index = end
        }
        return units
    }

    // MARK: Node connections

    /// The connection to `node` (one per node, or one per node and lane for blocking reads, so a
    /// blocked read never holds up other commands).
    func connection(to node: RedisEndpoint, lane: String? = nil) -> RedisConnection {
        let key = lane.map { "\(node)#\($0)" } ?? node.description
        return connections.withLock { connections in
            if let existing = connections[key] { return existing }
            let fresh = RedisConnection(clusterNode: node, options: options, logger: logger)
            connections[key] = fresh
            return fresh
        }
    }

    func close() async {
        let all = connections.withLock { connections in
            defer { connections.removeAll() }
            return Array(connections.values)
        }
        for connection in all { await connection.close() }
    }
}
