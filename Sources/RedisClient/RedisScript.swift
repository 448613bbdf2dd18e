import Crypto

/// A Lua script addressed by its SHA-1: sent with EVALSHA, loaded once on `NOSCRIPT` and retried.
public struct RedisScript: Sendable {
    public let source: String
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    func evalCommand(keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible]) -> RedisCommand {
        RedisCommand("EVALSHA", [sha1, keys.count] + keys + arguments)
    }
}

extension RedisConnection {
    /// Runs the script by SHA; when the server has not seen it (restart, `SCRIPT FLUSH`) it is loaded and run again.
    @discardableResult
    public func evaluate(_ script: RedisScript, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible]) async throws -> RedisValue {
        let command = script.evalCommand(keys: keys, arguments: arguments)
        do {
            return try await send(command)
        } catch let error as RedisError where error.serverCode == "NOSCRIPT" {
            try await load(script, keys: keys)
            return try await send(command)
        }
    }

    /// `SCRIPT LOAD` on the node that runs the script: this server, or on a cluster the primary of
    /// the keys' slot (`SCRIPT LOAD` has no key, so the router is told where it goes).
    private func load(_ script: RedisScript, keys: [any RedisArgumentConvertible]) async throws {
        let command = RedisCommand("SCRIPT", ["LOAD", script.source])
        let loaded: RedisValue
        if let cluster {
            loaded = try await cluster.send(command, slot: keys.first.map { ClusterSlot.slot(of: $0.redisBytes) })
            if case .error(let message) = loaded { throw RedisError.fromReply(message) }
        } else {
            loaded = try await send(command)
        }
        guard loaded.string == script.sha1 else {
            throw RedisError.unexpectedReply(command: "SCRIPT LOAD", expected: script.sha1, got: loaded.string ?? loaded.kindName)
        }
    }
}

extension RedisPool {
    @discardableResult
    public nonisolated func evaluate(_ script: RedisScript, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible]) async throws -> RedisValue {
        try await withConnection { try await $0.evaluate(script, keys: keys, arguments: arguments) }
    }
}
