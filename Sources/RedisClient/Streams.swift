/// One stream entry. `fields` is nil when the entry was deleted or trimmed while still pending.
public struct StreamEntry: Sendable, Equatable {
    public let id: String
    public let fields: [String: [UInt8]]?

    public init(id: String, fields: [String: [UInt8]]?) {
        self.id = id
        self.fields = fields
    }

    public func field(_ name: String) -> [UInt8]? { fields?[name] }

    public func string(_ name: String) -> String? { field(name).map { String(decoding: $0, as: UTF8.self) } }

    static func parse(_ value: RedisValue, command: String) throws(RedisError) -> StreamEntry {
        guard let pair = value.array, pair.count == 2, let id = pair[0].string else {
            throw .unexpectedReply(command: command, expected: "[id, fields]", got: value.kindName)
        }
        guard let flat = pair[1].array else { return StreamEntry(id: id, fields: nil) }
        var fields: [String: [UInt8]] = [:]
        var index = 0
        while index + 1 < flat.count {
            if let name = flat[index].string { fields[name] = flat[index + 1].bytes ?? [] }
            index += 2
        }
        return StreamEntry(id: id, fields: fields)
    }

    /// Parses an array of entries (XRANGE, XREVRANGE, a stream of XREAD).
    public static func parseList(_ value: RedisValue, command: String) throws(RedisError) -> [StreamEntry] {
        if value.isNull { return [] }
        guard let items = value.array else {
            throw .unexpectedReply(command: command, expected: "array of entries", got: value.kindName)
        }
        var entries: [StreamEntry] = []
        for item in items { entries.append(try parse(item, command: command)) }
        return entries
    }
}

/// One row of `XPENDING key group [IDLE ms] start end count [consumer]`.
public struct PendingEntry: Sendable, Equatable {
    public let id: String
    public let consumer: String
    public let idleMilliseconds: Int64
    public let deliveries: Int64
}

/// One consumer group of `XINFO GROUPS`. `lag` is nil when Redis cannot tell (after deletions).
public struct StreamGroupInfo: Sendable, Equatable {
    public let name: String
    public let consumers: Int
    public let pending: Int
    public let lag: Int?
    public let lastDeliveredID: String
}

/// The result of one `XAUTOCLAIM` call.
public struct AutoClaimResult: Sendable {
    /// Where the next call should start; "0-0" once the whole PEL was scanned.
    public let nextStart: String
    public let entries: [StreamEntry]
    /// Ids that were pending but no longer exist in the stream (Redis ≥ 7 drops them from the PEL).
    public let deletedIDs: [String]
}

/// The stream commands the services use, each with a typed reply.
public enum StreamCommands {
    public static func xadd(_ stream: String, fields: [(String, [UInt8])], maxLength: Int? = nil) -> RedisCommand {
        var argv: [any RedisArgumentConvertible] = [stream]
        if let maxLength { argv += ["MAXLEN", "~", maxLength] }
        argv.append("*")
        for (name, value) in fields { argv += [name, value] }
        return RedisCommand("XADD", argv)
    }

    public static func xack(_ stream: String, group: String, ids: [String]) -> RedisCommand {
        RedisCommand("XACK", [stream, group] + ids)
    }

    public static func xreadgroup(group: String, consumer: String, streams: [String], count: Int, block: Duration?, startID: String) -> RedisCommand {
        var argv: [any RedisArgumentConvertible] = ["GROUP", group, consumer, "COUNT", count]
        if let block { argv += ["BLOCK", Int(block.seconds * 1000)] }
        argv.append("STREAMS")
        argv += streams
        argv += Array(repeating: startID, count: streams.count)
        return RedisCommand("XREADGROUP", argv)
    }

    /// The entries per stream of an XREAD/XREADGROUP reply (nil on a BLOCK timeout: none).
    public static func parseRead(_ reply: RedisValue, command: String) throws(RedisError) -> [(stream: String, entries: [StreamEntry])] {
        if reply.isNull { return [] }
        guard let perStream = reply.array else {
            throw .unexpectedReply(command: command, expected: "array", got: reply.kindName)
        }
        var result: [(stream: String, entries: [StreamEntry])] = []
        for item in perStream {
            guard let pair = item.array, pair.count == 2, let name = pair[0].string else {
                throw .unexpectedReply(command: command, expected: "[stream, entries]", got: item.kindName)
            }
            result.append((name, try StreamEntry.parseList(pair[1], command: command)))
        }
        return result
    }
}

extension RedisConnection {
    /// `XADD stream [MAXLEN ~ n] * field value …`; returns the new id.
    @discardableResult
    public func xadd(_ stream: String, fields: [(String, [UInt8])], maxLength: Int? = nil) async throws -> String {
        let reply = try await send(StreamCommands.xadd(stream, fields: fields, maxLength: maxLength))
        guard let id = reply.string else { throw RedisError.unexpectedReply(command: "XADD", expected: "entry id", got: reply.kindName) }
        return id
    }

    /// `XGROUP CREATE stream group id MKSTREAM`; false when the group already existed (`BUSYGROUP`).
    @discardableResult
    public func xgroupCreate(_ stream: String, group: String, startID: String = "0") async throws -> Bool {
        do {
            try await send("XGROUP", "CREATE", stream, group, startID, "MKSTREAM")
            return true
        } catch let error as RedisError where error.serverCode == "BUSYGROUP" {
            return false
        }
    }

    /// `XREADGROUP GROUP g c COUNT n [BLOCK ms] STREAMS s… >…`: new entries per stream; empty on a BLOCK timeout.
    /// `startID` "0" re-reads this consumer's own pending entries instead of new ones. On a cluster
    /// the streams may live in many slots: see `ClusterRouter.readGroup`.
    public func xreadgroup(group: String, consumer: String, streams: [String], count: Int, block: Duration?, startID: String = ">") async throws -> [(stream: String, entries: [StreamEntry])] {
        if let block { precondition(block < options.commandTimeout, "BLOCK must be shorter than the socket timeout") }
        if let cluster {
            return try await cluster.readGroup(group: group, consumer: consumer, streams: streams, count: count, block: block, startID: startID)
        }
        let command = StreamCommands.xreadgroup(group: group, consumer: consumer, streams: streams, count: count, block: block, startID: startID)
        return try StreamCommands.parseRead(try await send(command), command: "XREADGROUP")
    }

    /// `XACK stream group id…`; the number of entries acknowledged.
    @discardableResult
    public func xack(_ stream: String, group: String, ids: [String]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let reply = try await send(StreamCommands.xack(stream, group: group, ids: ids))
        return Int(reply.integer ?? 0)
    }

    /// `XAUTOCLAIM stream group consumer min-idle start COUNT n`.
    public func xautoclaim(_ stream: String, group: String, consumer: String, minIdle: Duration, start: String = "0-0", count: Int = 100) async throws -> AutoClaimResult {
        let reply = try await send("XAUTOCLAIM", stream, group, consumer, Int(minIdle.seconds * 1000), start, "COUNT", count)
        guard let parts = reply.array, parts.count >= 2, let next = parts[0].string else {
            throw RedisError.unexpectedReply(command: "XAUTOCLAIM", expected: "[next, entries, deleted]", got: reply.kindName)
        }
        let entries = try StreamEntry.parseList(parts[1], command: "XAUTOCLAIM")
        var deleted = entries.filter { $0.fields == nil }.map(\.id)
        if parts.count > 2, let ids = parts[2].array { deleted += ids.compactMap(\.string) }
        return AutoClaimResult(nextStart: next, entries: entries.filter { $0.fields != nil }, deletedIDs: deleted)
    }

    /// `XPENDING stream group [IDLE ms] start end count [consumer]`.
    public func xpending(_ stream: String, group: String, start: String = "-", end: String = "+", count: Int = 100, consumer: String? = nil, minIdle: Duration? = nil) async throws -> [PendingEntry] {
        var argv: [any RedisArgumentConvertible] = [stream, group]
        if let minIdle { argv += ["IDLE", Int(minIdle.seconds * 1000)] }
        argv += [start, end, count]
        if let consumer { argv.append(consumer) }
        let reply = try await send(RedisCommand("XPENDING", argv))
        guard let rows = reply.array else {
            throw RedisError.unexpectedReply(command: "XPENDING", expected: "array", got: reply.kindName)
        }
        return try rows.map { row throws(RedisError) in
            guard let fields = row.array, fields.count == 4, let id = fields[0].string, let consumer = fields[1].string,
                  let idle = fields[2].integer, let deliveries = fields[3].integer else {
                throw .unexpectedReply(command: "XPENDING", expected: "[id, consumer, idle, deliveries]", got: row.kindName)
            }
            return PendingEntry(id: id, consumer: consumer, idleMilliseconds: idle, deliveries: deliveries)
        }
    }

    /// The number of entries pending in a group (summary form of XPENDING); 0 when the stream or group is missing.
    public func pendingCount(_ stream: String, group: String) async throws -> Int {
        do {
            let reply = try await send("XPENDING", stream, group)
            return Int(reply.array?.first?.integer ?? 0)
        } catch let error as RedisError where error.serverCode == "NOGROUP" {
            return 0
        }
    }

    /// `XRANGE stream start end [COUNT n]`.
    public func xrange(_ stream: String, start: String = "-", end: String = "+", count: Int? = nil) async throws -> [StreamEntry] {
        var argv: [any RedisArgumentConvertible] = [stream, start, end]
        if let count { argv += ["COUNT", count] }
        return try StreamEntry.parseList(try await send(RedisCommand("XRANGE", argv)), command: "XRANGE")
    }

    /// `XREVRANGE stream end start [COUNT n]`: newest first.
    public func xrevrange(_ stream: String, end: String = "+", start: String = "-", count: Int? = nil) async throws -> [StreamEntry] {
        var argv: [any RedisArgumentConvertible] = [stream, end, start]
        if let count { argv += ["COUNT", count] }
        return try StreamEntry.parseList(try await send(RedisCommand("XREVRANGE", argv)), command: "XREVRANGE")
    }

    /// `XINFO GROUPS stream`: each group's consumers, pending count and lag; empty for a missing stream.
    public func xinfoGroups(_ stream: String) async throws -> [StreamGroupInfo] {
        let reply: RedisValue
        do {
            reply = try await send("XINFO", "GROUPS", stream)
        } catch let error as RedisError where error.serverCode == "ERR" {
            return []
        }
        return (reply.array ?? []).compactMap { item in
            guard let flat = item.array else { return nil }
            var fields: [String: RedisValue] = [:]
            for index in stride(from: 0, to: flat.count - 1, by: 2) {
                if let name = flat[index].string { fields[name] = flat[index + 1] }
            }
            guard let name = fields["name"]?.string else { return nil }
            return StreamGroupInfo(name: name, consumers: Int(fields["consumers"]?.integer ?? 0), pending: Int(fields["pending"]?.integer ?? 0),
                                   lag: fields["lag"]?.integer.map { Int($0) }, lastDeliveredID: fields["last-delivered-id"]?.string ?? "")
        }
    }

    /// `XREAD [COUNT n] [BLOCK ms] STREAMS s… id…` (no group): entries after the given ids. On a
    /// cluster, one non-blocking read per slot (pipelined per node); when none has news it waits a
    /// short poll interval instead of blocking (a tail, not a latency-critical path).
    public func xread(streams: [(String, String)], count: Int, block: Duration?) async throws -> [(stream: String, entries: [StreamEntry])] {
        if isCluster {
            var bySlot: [Int: [(String, String)]] = [:]
            for stream in streams { bySlot[ClusterSlot.slot(of: stream.0), default: []].append(stream) }
            let commands = bySlot.values.map { group in
                RedisCommand("XREAD", ["COUNT", count, "STREAMS"] + group.map(\.0) + group.map(\.1))
            }
            let result = try await pipeline(commands).flatMap { reply throws in
                if case .error(let message) = reply { throw RedisError.fromReply(message) }
                return try StreamCommands.parseRead(reply, command: "XREAD")
            }
            if let block, result.allSatisfy({ $0.entries.isEmpty }) { try await Task.sleep(for: min(block, .milliseconds(100))) }
            return result
        }
        var argv: [any RedisArgumentConvertible] = ["COUNT", count]
        if let block {
            precondition(block < options.commandTimeout, "BLOCK must be shorter than the socket timeout")
            argv += ["BLOCK", Int(block.seconds * 1000)]
        }
        argv.append("STREAMS")
        argv += streams.map(\.0)
        argv += streams.map(\.1)
        let reply = try await send(RedisCommand("XREAD", argv))
        if reply.isNull { return [] }
        guard let perStream = reply.array else {
            throw RedisError.unexpectedReply(command: "XREAD", expected: "array", got: reply.kindName)
        }
        var result: [(stream: String, entries: [StreamEntry])] = []
        for item in perStream {
            guard let pair = item.array, pair.count == 2, let name = pair[0].string else { continue }
            result.append((name, try StreamEntry.parseList(pair[1], command: "XREAD")))
        }
        return result
    }

    /// `XLEN stream`; 0 for a missing stream.
    public func xlen(_ stream: String) async throws -> Int {
        Int(try await send("XLEN", stream).integer ?? 0)
    }
}
