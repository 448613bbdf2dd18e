import Foundation
import RedisClient
import Synchronization
import TestSupport
import Testing

@Suite("Redis Cluster slots and URLs")
struct ClusterSlotTests {
    @Test("CRC16 and key slots match Redis' own vectors, hash tags included")
    func slotVectors() {
        #expect(ClusterSlot.crc16(Array("123456789".utf8)) == 0x31C3)
        #expect(ClusterSlot.slot(of: "123456789") == 12739)
        #expect(ClusterSlot.slot(of: "foo") == 12182)
        #expect(ClusterSlot.slot(of: "bar") == 5061)
        #expect(ClusterSlot.slot(of: "{user1000}.following") == ClusterSlot.slot(of: "{user1000}.followers"))
        #expect(ClusterSlot.slot(of: "{user1000}.following") == ClusterSlot.slot(of: "user1000"))
        // An empty tag hashes the whole key; only the first `{` … next `}` counts.
        #expect(ClusterSlot.slot(of: "foo{}{bar}") == Int(ClusterSlot.crc16(Array("foo{}{bar}".utf8)) % 16384))
        #expect(ClusterSlot.slot(of: "foo{{bar}}zap") == ClusterSlot.slot(of: "{bar"))
        #expect(ClusterSlot.slot(of: "foo{bar}{zap}") == ClusterSlot.slot(of: "bar"))
        #expect(ClusterSlot.slot(of: "crm:{s3}:events") == ClusterSlot.slot(of: "crm:{s3}:t:acme:lead:L-1"))
    }

    @Test("redis+cluster:// lists seeds and credentials; a bad seed, port or database is a typed error naming it")
    func clusterURLs() throws {
        let endpoint = try RedisEndpoint(url: "redis+cluster://svc:p%40ss@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002")
        #expect(endpoint.isCluster)
        #expect(endpoint.clusterSeeds == [.tcp(host: "10.0.0.1", port: 7000), .tcp(host: "10.0.0.2", port: 7001), .tcp(host: "[::1]", port: 7002)])
        #expect(endpoint.username == "svc" && endpoint.password == "p@ss")
        #expect(endpoint.description == "cluster:10.0.0.1:7000,10.0.0.2:7001,[::1]:7002", "no credentials in logs")
        #expect(try RedisEndpoint(url: "redis://h:1").isCluster == false)
        for (url, fault) in [("redis+cluster://h1:7000,h2", "seed 'h2' is not host:port"), ("redis+cluster://h1:70000", "port of seed 'h1:70000'"),
                             ("redis+cluster://h1:7000/2", "database 0 only"), ("redis+cluster://", "seed '' is not host:port"),
                             ("redis+cluster://u:secret@h1:x", "port of seed 'h1:x'")] {
            #expect {
                try RedisEndpoint(url: url)
            } throws: { error in
                guard case .invalidConfiguration(let reason) = error as? RedisError else { return false }
                return reason.contains(fault) && !reason.contains("secret")
            }
        }
    }
}

@Suite("Redis Cluster without a reachable node")
struct ClusterUnreachableTests {
    @Test("seeds that all refuse: clusterUnavailable, retryable, naming each seed, after the retry window")
    func noSeedAnswers() async throws {
        // Nothing listens on ports 1 and 2 of the loopback interface.
        let endpoint = try RedisEndpoint(url: "redis+cluster://127.0.0.1:1,127.0.0.1:2")
        let connection = RedisConnection(endpoint: endpoint, options: RedisConnectionOptions(connectAttempts: 1, clusterRetryWindow: .milliseconds(600)))
        let clock = ContinuousClock()
        let started = clock.now
        do {
            try await connection.send("GET", "crm:{s1}:x")
            Issue.record("a command without any node succeeded")
        } catch let error as RedisError {
            guard case .clusterUnavailable(let reason) = error else { Issue.record("unexpected \(error)"); return }
            #expect(error.isRetryable)
            #expect(reason.contains("127.0.0.1:1") && reason.contains("127.0.0.1:2"), "\(reason)")
        }
        let waited = clock.now - started
        #expect(waited >= .milliseconds(600) && waited < .seconds(10), "gave up after \(waited)")
        await connection.close()
    }
}

@Suite("Redis Cluster client against a real 3+3 node cluster", .serialized)
struct ClusterClientTests {
    let cluster: RedisClusterProcess
    let pool: RedisPool

    init() async throws {
        cluster = try await RedisClusterProcess()
        pool = RedisPool(endpoint: try cluster.endpoint, size: 4)
    }

    @Test("commands go to the slot's primary; pipelines split by node keep their order; cross-slot multi-key commands are refused")
    func routing() async throws {
        let keys = (0..<300).map { "key:\($0)" }
        let written = try await pool.pipeline(keys.map { RedisCommand("SET", [$0, "v-\($0)"]) })
        #expect(written.allSatisfy { $0 == .simpleString("OK") }, "\(written.prefix(3))")
        let read = try await pool.pipeline(keys.map { RedisCommand("GET", [$0]) })
        #expect(read.map(\.string) == keys.map { "v-\($0)" }, "replies in the order of the commands")
        // Each key is stored on the primary owning its slot (asked directly, without routing).
        for key in keys.prefix(20) {
            let owner = try await cluster.primary(ofSlot: ClusterSlot.slot(of: key))
            let direct = cluster.connection(to: owner)
            #expect(try await direct.send("GET", key).string == "v-\(key)")
            await direct.close()
        }
        let primaries = try await cluster.primaries()
        #expect(primaries.count == 3)
        // SCAN visits every primary.
        var cursor = "0", seen: Set<String> = []
        repeat {
            let reply = try await pool.send("SCAN", cursor, "MATCH", "key:*", "COUNT", 100)
            cursor = reply.array?[0].string ?? "0"
            seen.formUnion((reply.array?[1].array ?? []).compactMap(\.string))
        } while cursor != "0"
        #expect(seen == Set(keys))

        await #expect(throws: RedisError.crossSlot(command: "MGET", keys: ["key:1", "key:2"])) { try await pool.send("MGET", "key:1", "key:2") }
        #expect(try await pool.send("MGET", "{t}a", "{t}b").array == [.null, .null], "one hash tag: one slot")
        let transaction = try await pool.pipeline([RedisCommand("MULTI"), RedisCommand("SET", ["{t}a", "1"]), RedisCommand("INCR", ["{t}b"]),
                                                   RedisCommand("EXEC"), RedisCommand("GET", ["key:7"])])
        #expect(transaction[3] == .array([.simpleString("OK"), .integer(1)]))
        #expect(transaction[4].string == "v-key:7")
        await #expect(throws: RedisError.self) {
            try await pool.pipeline([RedisCommand("MULTI"), RedisCommand("SET", ["{t}a", "1"]), RedisCommand("SET", ["{u}a", "1"]), RedisCommand("EXEC")])
        }
        // A script unknown to the node (NOSCRIPT) is loaded on the keys' node (SCRIPT LOAD routed by slot) and run again.
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1]) + redis.call('INCRBY', KEYS[2], ARGV[1])")
        #expect(try await pool.evaluate(script, keys: ["{s9}:x", "{s9}:y"], arguments: [2]).integer == 4)
        #expect(try await pool.evaluate(script, keys: ["{s9}:x", "{s9}:y"], arguments: [1]).integer == 6)
        await #expect(throws: RedisError.crossSlot(command: "EVALSHA", keys: ["{s1}:x", "{s2}:y"])) {
            try await pool.evaluate(script, keys: ["{s1}:x", "{s2}:y"], arguments: [1])
        }
    }

    @Test("a consumer group read over 16 shards on 3 primaries: pending re-read, blocking read wakes on any node within milliseconds")
    func streamsAcrossNodes() async throws {
        let streams = (0..<16).map { "crm:{s\($0)}:events" }
        let reader = RedisConnection(endpoint: try cluster.endpoint, options: RedisConnectionOptions(commandTimeout: .seconds(10)))
        for stream in streams { #expect(try await reader.xgroupCreate(stream, group: "g", startID: "0")) }
        for (index, stream) in streams.enumerated() { try await pool.withConnection { _ = try await $0.xadd(stream, fields: [("n", Array("\(index)".utf8))]) } }
        var got: [String: Int] = [:]
        for _ in 0..<5 {
            for (stream, entries) in try await reader.xreadgroup(group: "g", consumer: "c", streams: streams, count: 10, block: .milliseconds(200)) {
                got[stream, default: 0] += entries.count
            }
        }
        #expect(got == Dictionary(uniqueKeysWithValues: streams.map { ($0, 1) }), "one entry per shard, each read once")
        let pending = try await reader.xreadgroup(group: "g", consumer: "c", streams: streams, count: 10, block: nil, startID: "0")
        #expect(pending.reduce(0) { $0 + $1.entries.count } == 16)
        // Idle: blocking reads on every slot; an entry on any node wakes the reader at once.
        for target in [3, 11, 7] {
            let clock = ContinuousClock()
            let started = clock.now
            let stream = streams[target]
            let producer = Task {
                try await Task.sleep(for: .milliseconds(300))
                return try await pool.withConnection { try await $0.xadd(stream, fields: [("n", Array("late".utf8))]) }
            }
            var woke: [(stream: String, entries: [StreamEntry])] = []
            while woke.allSatisfy({ $0.entries.isEmpty }), clock.now - started < .seconds(8) {
                woke = try await reader.xreadgroup(group: "g", consumer: "c", streams: streams, count: 10, block: .seconds(5))
            }
            let id = try await producer.value
            let latency = clock.now - started - .milliseconds(300)
            #expect(woke.flatMap(\.entries).map(\.id) == [id])
            // Woken by the entry, not by the 5 s BLOCK running out (a few ms on an idle machine).
            #expect(latency < .seconds(2), "woken \(latency) after the XADD")
            print("cluster idle read: woken \(latency) after an XADD to shard \(target)")
        }
        await reader.close()
    }

    @Test("a slot migrated mid-traffic (MIGRATING/IMPORTING + MIGRATE) is followed through ASK and MOVED with no failed command")
    func resharding() async throws {
        let slot = ClusterSlot.slot(of: "{s5}")
        let source = try await cluster.primary(ofSlot: slot)
        let target = try #require(try await cluster.primaries().first { $0.port != source.port })
        let keys = (0..<40).map { "crm:{s5}:counter:\($0)" }
        final class Shared: Sendable {
            let failures = Mutex<[String]>([])
            let stop = Atomic<Bool>(false)
        }
        let shared = Shared()
        let writers = (0..<4).map { writer in
            Task {
                var rounds = 0
                while !shared.stop.load(ordering: .relaxed) {
                    do {
                        _ = try await pool.pipeline(keys.map { RedisCommand("INCR", [$0]) })
                        try await pool.withConnection { _ = try await $0.xadd("crm:{s5}:events", fields: [("w", Array("\(writer)".utf8))]) }
                        rounds += 1
                    } catch {
                        shared.failures.withLock { $0.append("\(error)") }
                    }
                }
                return rounds
            }
        }
        try await Task.sleep(for: .milliseconds(200))
        try await cluster.migrate(slot: slot, to: target, keysPerBatch: 3, pause: .milliseconds(40))
        try await Task.sleep(for: .milliseconds(300))
        shared.stop.store(true, ordering: .relaxed)
        var rounds = 0
        for writer in writers { rounds += await writer.value }
        #expect(shared.failures.withLock { $0 }.isEmpty, "\(shared.failures.withLock { $0.prefix(5) })")
        #expect(try await cluster.primary(ofSlot: slot).port == target.port)
        let redirects = try #require(pool.clusterRedirects)
        #expect(redirects.moved > 0 && redirects.ask > 0, "both kinds of redirect were followed: \(redirects)")
        let counts = try await pool.pipeline(keys.map { RedisCommand("GET", [$0]) }).compactMap(\.integer)
        #expect(counts == Array(repeating: Int64(rounds), count: keys.count), "every INCR applied exactly once over \(rounds) rounds")
        #expect(try await pool.withConnection { try await $0.xlen("crm:{s5}:events") } == rounds)
    }

    @Test("a killed primary: its replica takes over and commands to its slots succeed again within the retry window")
    func failover() async throws {
        let slot = ClusterSlot.slot(of: "{s2}")
        let victim = try await cluster.primary(ofSlot: slot)
        // Replication is asynchronous: WAIT until the write reached the replica before the kill.
        let direct = cluster.connection(to: victim)
        try await direct.send("SET", "crm:{s2}:before", "1")
        #expect(try await direct.send("WAIT", 1, 2000).integer == 1)
        await direct.close()
        await cluster.kill(victim)
        let clock = ContinuousClock()
        let started = clock.now
        try await pool.send("SET", "crm:{s2}:after", "2")
        let took = clock.now - started
        #expect(try await pool.send("GET", "crm:{s2}:before").string == "1")
        #expect(try await pool.send("GET", "crm:{s2}:after").string == "2")
        #expect(try await cluster.primary(ofSlot: slot).port != victim.port)
        #expect(took < .seconds(15), "the write waited \(took) for the promotion")
        print("cluster failover: a write to the dead primary's slot succeeded after \(took)")
    }
}
