import Foundation
import RedisClient
import TestSupport
import Testing

@Suite("RedisClient against a real redis-server")
struct RedisConnectionTests {
    let server: RedisServerProcess
    let redis: RedisConnection

    init() async throws {
        server = try await RedisServerProcess()
        redis = server.connection()
    }

    @Test("every reply type round-trips")
    func replyTypes() async throws {
        #expect(try await redis.send("PING") == .simpleString("PONG"))
        #expect(try await redis.send("SET", "k", "v") == .simpleString("OK"))
        #expect(try await redis.send("GET", "k") == .bulkString(Array("v".utf8)))
        #expect(try await redis.send("GET", "missing") == .null)
        #expect(try await redis.send("INCRBY", "n", 41) == .integer(41))
        #expect(try await redis.send("INCR", "n").integer == 42)
        try await redis.send("RPUSH", "list", "a", "b")
        #expect(try await redis.send("LRANGE", "list", 0, -1) == .array([.bulkString(Array("a".utf8)), .bulkString(Array("b".utf8))]))
        #expect(try await redis.send("LRANGE", "nothing", 0, -1) == .array([]))
        // A nested array with a nil inside: EVAL returns Lua's false as nil.
        let nested = try await redis.send("EVAL", "return {1, {'x', false}, 'y'}", 0)
        #expect(nested == .array([.integer(1), .array([.bulkString(Array("x".utf8)), .null]), .bulkString(Array("y".utf8))]))
        // An error reply inside a pipeline stays a value.
        let replies = try await redis.pipeline([RedisCommand("SET", ["s", "1"]), RedisCommand("LPUSH", ["s", "x"])])
        #expect(replies[0] == .simpleString("OK"))
        guard case .error(let message) = replies[1] else { Issue.record("expected an error reply"); return }
        #expect(message.hasPrefix("WRONGTYPE"))
    }

    @Test("values with NUL and non-UTF-8 bytes are binary safe")
    func binarySafety() async throws {
        let value: [UInt8] = [0, 1, 0xFF, 0xFE, 0, 0x80, 10, 13, 0]
        let key: [UInt8] = [0x6B, 0, 0xC3]
        try await redis.send(RedisCommand("SET", [key, value]))
        #expect(try await redis.send(RedisCommand("GET", [key])).bytes == value)
        #expect(try await redis.send(RedisCommand("STRLEN", [key])).integer == Int64(value.count))
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await redis.send(RedisCommand("SET", ["big", big]))
        #expect(try await redis.send("GET", "big").bytes == big)
    }

    @Test("a pipeline of 10,000 commands returns every reply in order")
    func pipelining() async throws {
        let commands = (0..<10_000).map { RedisCommand("INCRBY", ["counter", $0]) }
        let replies = try await redis.pipeline(commands)
        #expect(replies.count == 10_000)
        var expected: Int64 = 0
        for (index, reply) in replies.enumerated() {
            expected += Int64(index)
            #expect(reply == .integer(expected))
            if reply != .integer(expected) { break }
        }
        #expect(try await redis.send("GET", "counter").integer == 49_995_000)
    }

    @Test("a server error is surfaced with its text and code")
    func serverError() async throws {
        try await redis.send("SET", "s", "text")
        await #expect(throws: RedisError.server(code: "WRONGTYPE", message: "WRONGTYPE Operation against a key holding the wrong kind of value")) {
            try await redis.send("LPUSH", "s", "x")
        }
        do {
            try await redis.send("NOSUCHCOMMAND")
            Issue.record("expected an error")
        } catch let error as RedisError {
            #expect(error.serverCode == "ERR")
            #expect("\(error)".contains("unknown command"))
            #expect(!error.isRetryable)
        }
        // The connection is still usable after error replies.
        #expect(try await redis.send("PING") == .simpleString("PONG"))
    }

    @Test("a restarted server is reconnected to")
    func reconnectAfterRestart() async throws {
        try await redis.send("SET", "before", "1")
        server.stop(hard: true)
        // While the server is down the error is a retryable connection error.
        do {
            try await redis.send("PING")
            Issue.record("expected a connection error")
        } catch let error as RedisError {
            #expect(error.isRetryable, "\(error)")
        }
        try await server.start()
        let recovered = await eventually(timeout: .seconds(5)) { (try? await redis.send("PING")) == .simpleString("PONG") }
        #expect(recovered)
        #expect(try await redis.send("SET", "after", "2") == .simpleString("OK"))
        #expect(try await redis.send("GET", "after").string == "2")
    }

    @Test("a script is re-loaded after NOSCRIPT")
    func noscriptRecovery() async throws {
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
        #expect(try await redis.evaluate(script, keys: ["c"], arguments: [5]) == .integer(5))
        try await redis.send("SCRIPT", "FLUSH")
        #expect(try await redis.send("SCRIPT", "EXISTS", script.sha1) == .array([.integer(0)]))
        #expect(try await redis.evaluate(script, keys: ["c"], arguments: [2]) == .integer(7))
        #expect(try await redis.send("SCRIPT", "EXISTS", script.sha1) == .array([.integer(1)]))
    }

    @Test("a closed connection refuses work")
    func closed() async throws {
        await redis.close()
        await #expect(throws: RedisError.closed) { try await redis.send("PING") }
    }

    @Test("a read that outlives the socket timeout fails as a timeout, and the next call reconnects")
    func timeout() async throws {
        let short = RedisConnection(endpoint: server.endpoint, options: RedisConnectionOptions(commandTimeout: .milliseconds(200)))
        do {
            try await short.send("BLPOP", "nothing", 2)
            Issue.record("expected a timeout")
        } catch let error as RedisError {
            guard case .timeout = error else { Issue.record("expected .timeout, got \(error)"); return }
            #expect(error.isRetryable)
        }
        #expect(try await short.send("PING") == .simpleString("PONG"))
    }
}

@Suite("Redis URLs")
struct RedisEndpointTests {
    @Test func parsesCredentialsHostPortAndDatabase() throws {
        let endpoint = try RedisEndpoint(url: "redis://pipeline:s3cr%40t@redis.internal:6380/2")
        #expect(endpoint.address == .tcp(host: "redis.internal", port: 6380))
        #expect(endpoint.username == "pipeline")
        #expect(endpoint.password == "s3cr@t")
        #expect(endpoint.database == 2)
        #expect(!endpoint.description.contains("s3cr"))
        #expect(try RedisEndpoint(url: "redis://127.0.0.1").address == .tcp(host: "127.0.0.1", port: 6379))
        #expect(try RedisEndpoint(url: "unix:///tmp/r.sock?db=3") == RedisEndpoint(address: .unixSocket(path: "/tmp/r.sock"), database: 3))
        #expect(try RedisEndpoint(url: "unix://audit:pw@/run/redis.sock") == RedisEndpoint(address: .unixSocket(path: "/run/redis.sock"), username: "audit", password: "pw"))
    }

    @Test(arguments: ["http://x", "redis://:99999", "redis://host:port", "redis://h/x", "unix://relative"])
    func rejectsBadURLs(_ url: String) {
        #expect(throws: RedisError.self) { try RedisEndpoint(url: url) }
    }

    @Test func authenticatesAsAnACLUser() async throws {
        let server = try await RedisServerProcess()
        let admin = server.connection()
        try await admin.send("ACL", "SETUSER", "reader", "on", ">pw", "~r:*", "+get", "+ping", "+auth", "+client")
        let reader = RedisConnection(endpoint: RedisEndpoint(address: .unixSocket(path: server.socketPath), username: "reader", password: "pw"))
        #expect(try await reader.send("PING") == .simpleString("PONG"))
        await #expect(throws: RedisError.self) { try await reader.send("SET", "r:1", "x") }
        let wrong = RedisConnection(endpoint: RedisEndpoint(address: .unixSocket(path: server.socketPath), username: "reader", password: "nope"))
        do {
            try await wrong.send("PING")
            Issue.record("expected WRONGPASS")
        } catch let error as RedisError {
            #expect(error.serverCode == "WRONGPASS", "\(error)")
        }
    }
}
