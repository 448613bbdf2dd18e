import RedisClient
import TestSupport
import Synchronization
import Testing

@Suite("Streams and the pool")
struct StreamAndPoolTests {
    let server: RedisServerProcess
    let redis: RedisConnection

    init() async throws {
        server = try await RedisServerProcess()
        redis = server.connection()
    }

    @Test("XGROUP CREATE, XADD, XREADGROUP, XPENDING, XAUTOCLAIM and XACK")
    func consumerGroupCycle() async throws {
        #expect(try await redis.xgroupCreate("s", group: "g"))
        #expect(try await redis.xgroupCreate("s", group: "g") == false, "BUSYGROUP is reported, not thrown")
        let first = try await redis.xadd("s", fields: [("envelope", Array("one".utf8))])
        let second = try await redis.xadd("s", fields: [("envelope", [0, 0xFF])])
        let read = try await redis.xreadgroup(group: "g", consumer: "a", streams: ["s"], count: 10, block: .milliseconds(100))
        #expect(read.count == 1)
        #expect(read[0].entries.map(\.id) == [first, second])
        #expect(read[0].entries[1].field("envelope") == [0, 0xFF])
        #expect(try await redis.xreadgroup(group: "g", consumer: "a", streams: ["s"], count: 10, block: .milliseconds(50)).isEmpty,
                "a BLOCK timeout is an empty result")
        let pending = try await redis.xpending("s", group: "g")
        #expect(pending.map(\.id) == [first, second])
        #expect(pending.allSatisfy { $0.consumer == "a" && $0.deliveries == 1 })
        // The second entry is deleted while pending: XAUTOCLAIM reports it as deleted.
        try await redis.send("XDEL", "s", second)
        try await Task.sleep(for: .milliseconds(30))
        let claimed = try await redis.xautoclaim("s", group: "g", consumer: "b", minIdle: .milliseconds(10))
        #expect(claimed.entries.map(\.id) == [first])
        #expect(claimed.deletedIDs == [second])
        #expect(try await redis.xpending("s", group: "g").map(\.consumer) == ["b"])
        #expect(try await redis.xack("s", group: "g", ids: [first]) == 1)
        #expect(try await redis.pendingCount("s", group: "g") == 0)
        #expect(try await redis.pendingCount("nostream", group: "g") == 0)
    }

    @Test("the pool bounds its connections and times waiters out")
    func poolExhaustion() async throws {
        let pool = RedisPool(endpoint: server.endpoint, size: 1, waitTimeout: .milliseconds(100))
        let holding = Atomic<Bool>(false)
        async let holder: RedisValue = pool.withConnection { connection in
            holding.store(true, ordering: .relaxed)
            return try await connection.send("BLPOP", "never", 2)
        }
        // The only connection is taken (on a loaded machine that can take a while) before anyone else asks.
        #expect(await eventually(timeout: .seconds(5), every: .milliseconds(5)) { holding.load(ordering: .relaxed) })
        try await Task.sleep(for: .milliseconds(50))
        await #expect(throws: RedisError.poolExhausted(waitedMilliseconds: 100)) { try await pool.send("PING") }
        #expect(try await holder == .null)
        #expect(try await pool.send("PING") == .simpleString("PONG"))
        await pool.close()
    }

    @Test("many tasks share a pool")
    func concurrentUse() async throws {
        // 200 waiters on 4 connections: a loaded machine may take seconds, which is not what this checks.
        let pool = RedisPool(endpoint: server.endpoint, size: 4, waitTimeout: .seconds(30))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 { group.addTask { try await pool.send("INCR", "shared") } }
            try await group.waitForAll()
        }
        #expect(try await pool.send("GET", "shared").integer == 200)
    }
}
