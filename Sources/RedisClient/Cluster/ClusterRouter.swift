import Logging
import Synchronization

/// What a cluster-mode `RedisConnection` does with a command: finds the slot of its keys, sends it
/// to the primary owning that slot on a per-node connection, follows `MOVED` (and patches the slot
/// map) and `ASK` (one `ASKING` first), and, while a primary is unreachable or the cluster reports
/// itself down (a failover), retries for up to `retryWindow` what surely did not run. A command
/// whose outcome is unknown (connection lost mid-reply) is not resent: its error goes to the caller.
final class ClusterRouter: Sendable {
    let topology: ClusterTopology
    private let options: RedisConnectionOptions
    private let logger: Logger
    private let connections = Mutex<[String: RedisConnection]>([:])
    private let blockingReads = ClusterBlockingReads()
    static let maxRedirects = 16
    /// How long a command waits for a failover (replica promotion) before its error is returned.
    static let retryWindow = Duration.seconds(15)

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

    // MARK: Stream reads

    typealias StreamBatch = [(stream: String, entries: [StreamEntry])]

    /// `XREADGROUP` over streams of many slots. A cluster refuses a multi-key command across slots,
    /// so there is one read per slot: first all of them without blocking (one pipeline per node);
    /// when nothing is new, a blocking read per slot runs in the background, each on its own
    /// connection, and this returns as soon as any of them returns. A read still blocking then is
    /// kept and its entries are returned by a later call, so an idle shard never delays a busy one.
    func readGroup(group: String, consumer: String, streams: [String], count: Int, block: Duration?, startID: String) async throws -> StreamBatch {
        var bySlot: [Int: [String]] = [:]
        var slots: [Int] = []
        for stream in streams {
            let slot = ClusterSlot.slot(of: stream)
            if bySlot[slot] == nil { slots.append(slot) }
            bySlot[slot, default: []].append(stream)
        }
        func read(_ slot: Int, block: Duration?) -> RedisCommand {
            StreamCommands.xreadgroup(group: group, consumer: consumer, streams: bySlot[slot]!, count: count, block: block, startID: startID)
        }
        func sweep(_ slots: [Int]) async throws -> StreamBatch {
            guard !slots.isEmpty else { return [] }
            return try await pipeline(slots.map { read($0, block: nil) }).flatMap { reply throws in
                if case .error(let message) = reply { throw RedisError.fromReply(message) }
                return try StreamCommands.parseRead(reply, command: "XREADGROUP")
            }
        }
        guard let block, startID == ">" else { return try await sweep(slots) }

        let lanes = slots.map { (slot: $0, lane: "\(group)|\(consumer)|\(bySlot[$0]!.joined(separator: ","))") }
        let laneNames = Set(lanes.map(\.lane))
        var results = try Self.collect(await blockingReads.takeFinished(laneNames))
        if results.contains(where: { !$0.entries.isEmpty }) { return results }
        let inFlight = await blockingReads.inFlight
        let swept = try await sweep(lanes.filter { !inFlight.contains($0.lane) }.map(\.slot))
        if swept.contains(where: { !$0.entries.isEmpty }) { return results + swept }
        for (slot, lane) in lanes {
            let command = read(slot, block: block)
            await blockingReads.start(lane) {
                let reply: RedisValue
                do {
                    reply = try await self.execute([command], slot: slot, name: "XREADGROUP", lane: lane)[0]
                } catch let error as RedisError where Self.endsBlockingRead(error) {
                    // The node went away while the read blocked. Anything it had delivered stays
                    // pending and is claimed later; the next read goes where the new map says.
                    try? await self.topology.refresh(force: true)
                    return []
                }
                // The stream moved to another node (a resharding) while the read blocked.
                if case .error(let message) = reply, message.hasPrefix("UNBLOCKED") {
                    try? await self.topology.refresh(force: true)
                    return []
                }
                if case .error(let message) = reply { throw RedisError.fromReply(message) }
                return try StreamCommands.parseRead(reply, command: "XREADGROUP")
            }
        }
        results += try Self.collect(await blockingReads.waitForAny(laneNames))
        return results
    }

    private static func collect(_ finished: [Result<StreamBatch, any Error>]) throws -> StreamBatch {
        var batch: StreamBatch = []
        var failure: (any Error)?
        for result in finished {
            switch result {
            case .success(let entries): batch += entries
            case .failure(let error): failure = failure ?? error
            }
        }
        if let failure, !batch.contains(where: { !$0.entries.isEmpty }) { throw failure }
        return batch
    }

    // MARK: SCAN

    /// `SCAN` visits every primary in turn; the cursor `i.c` is cursor `c` on the i-th primary.
    private func scan(_ command: RedisCommand) async throws -> RedisValue {
        guard command.arguments.count >= 2 else { return try await execute([command], slot: nil, name: "SCAN")[0] }
        let text = String(decoding: command.arguments[1], as: UTF8.self)
        let parts = text.split(separator: ".", maxSplits: 1)
        let (index, cursor) = parts.count == 2 ? (Int(parts[0]) ?? 0, String(parts[1])) : (0, text)
        var primaries = topology.primaries()
        if primaries.isEmpty {
            try await topology.refresh(force: true)
            primaries = topology.primaries()
        }
        guard index < primaries.count else { return .array([.bulkString(Array("0".utf8)), .array([])]) }
        var argv = command.arguments
        argv[1] = Array(cursor.utf8)
        let reply = try await connection(to: primaries[index]).single(RedisCommand(argv: argv))
        guard case .array(let pair) = reply, pair.count == 2, let next = pair[0].string else { return reply }
        let nextCursor = next != "0" ? "\(index).\(next)" : (index + 1 < primaries.count ? "\(index + 1).0" : "0")
        return .array([.bulkString(Array(nextCursor.utf8)), pair[1]])
    }

    // MARK: Sending with redirects

    /// Sends `unit` (one command, or a MULTI … EXEC block) to the owner of `slot` and follows
    /// redirects; retries, within `retryWindow`, what did not run because a node was unreachable,
    /// the slot unowned (failover) or the keys mid-migration (`TRYAGAIN`).
    private func execute(_ unit: [RedisCommand], slot: Int?, name: String, lane: String? = nil) async throws -> [RedisValue] {
        let clock = ContinuousClock()
        let deadline = clock.now + Self.retryWindow
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
                    topology.learn(slot: redirect.slot, movedTo: target)
                    Task { try? await self.topology.refresh() }
                case .ask where unit.count == 1:
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

    /// A blocking read cut off by its node (killed, failed over): like a timeout for the reader.
    private static func endsBlockingRead(_ error: RedisError) -> Bool {
        switch error {
        case .connectionLost, .timeout: return true
        default: return false
        }
    }

    /// Errors after which the command surely was not executed: safe to send again.
    private static func surelyNotRun(_ error: RedisError) -> Bool {
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
    private func connection(to node: RedisEndpoint, lane: String? = nil) -> RedisConnection {
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

/// The background blocking reads of one cluster connection and the results they left, by lane (a
/// group, consumer and slot), so a call only takes what was read for its own group and consumer.
actor ClusterBlockingReads {
    private(set) var inFlight: Set<String> = []
    private var finished: [(lane: String, result: Result<ClusterRouter.StreamBatch, any Error>)] = []
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// Starts `read` under `lane` unless a read of that lane is still running.
    func start(_ lane: String, _ read: @escaping @Sendable () async throws -> ClusterRouter.StreamBatch) {
        guard inFlight.insert(lane).inserted else { return }
        Task {
            let result: Result<ClusterRouter.StreamBatch, any Error>
            do { result = .success(try await read()) } catch { result = .failure(error) }
            self.finish(lane, result)
        }
    }

    private func finish(_ lane: String, _ result: Result<ClusterRouter.StreamBatch, any Error>) {
        inFlight.remove(lane)
        finished.append((lane, result))
        let waiting = waiters
        waiters.removeAll()
        for waiter in waiting { waiter.resume() }
    }

    /// What finished in `lanes`, taken out.
    func takeFinished(_ lanes: Set<String>) -> [Result<ClusterRouter.StreamBatch, any Error>] {
        let mine = finished.filter { lanes.contains($0.lane) }.map(\.result)
        finished.removeAll { lanes.contains($0.lane) }
        return mine
    }

    /// Waits until a read of `lanes` finishes (at once when one already has) and takes what finished.
    func waitForAny(_ lanes: Set<String>) async -> [Result<ClusterRouter.StreamBatch, any Error>] {
        while !finished.contains(where: { lanes.contains($0.lane) }), !inFlight.isDisjoint(with: lanes) {
            await withCheckedContinuation { waiters.append($0) }
        }
        return takeFinished(lanes)
    }
}
