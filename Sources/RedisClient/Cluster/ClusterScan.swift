extension ClusterRouter {
    /// `SCAN` visits every primary in turn; the cursor `i.c` is cursor `c` on the i-th primary.
    func scan(_ command: RedisCommand) async throws -> RedisValue {
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
}
