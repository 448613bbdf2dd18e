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
            // On a cluster SCRIPT LOAD would reach any node; EVAL goes to the keys' node and caches the script there.
            if isCluster { return try await send(RedisCommand("EVAL", [script.source, keys.count] + keys + arguments)) }
            let loaded = try await send("SCRIPT", "LOAD", script.source)
            guard loaded.string == script.sha1 else {
                throw RedisError.unexpectedReply(command: "SCRIPT LOAD", expected: script.sha1, got: loaded.string ?? loaded.kindName)
            }
            return try await send(command)
        }
    }
}


extension RedisPool {
    @discardableResult
    public nonisolated func evaluate(_ script: RedisScript, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible]) async throws -> RedisValue {
        try await withConnection { try await $0.evaluate(script, keys: keys, arguments: arguments) }
    }
}
