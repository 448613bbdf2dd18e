import Contracts
import Testing

/// DESIGN §3: `N = crc32(tenant) mod SHARDS`, the IEEE CRC-32 every language computes alike.
/// The vectors below come from Python's `zlib.crc32`.
@Suite("CRC-32 and shard routing")
struct ShardTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        let text: String
        let crc: UInt32
        let shardOf4: Int
        var testDescription: String { "\"\(text)\" → \(crc)" }
    }

    static let vectors: [Vector] = [
        Vector(text: "acme", crc: 96_778_814, shardOf4: 2),
        Vector(text: "globex", crc: 2_528_353_018, shardOf4: 2),
        Vector(text: "initech", crc: 2_187_739_728, shardOf4: 0),
        Vector(text: "", crc: 0, shardOf4: 0),
        Vector(text: "a", crc: 3_904_355_907, shardOf4: 3),
        Vector(text: "tenant-42", crc: 1_247_496_908, shardOf4: 0),
        Vector(text: "123456789", crc: 0xCBF4_3926, shardOf4: 2),
        Vector(text: "The quick brown fox jumps over the lazy dog", crc: 0x414F_A339, shardOf4: 1),
        Vector(text: "é", crc: 235_179_326, shardOf4: 2),  // UTF-8 bytes C3 A9
    ]

    @Test("CRC32.checksum matches zlib.crc32", arguments: vectors)
    func checksumMatchesZlib(_ vector: Vector) {
        #expect(CRC32.checksum(vector.text.utf8) == vector.crc)
        #expect(CRC32.checksum(Array(vector.text.utf8)) == vector.crc, "arrays and UTF-8 views hash alike")
    }

    @Test("the shard of a tenant is crc32 mod 4 by default deployments", arguments: vectors)
    func shardOfFour(_ vector: Vector) {
        let router = ShardRouter(shards: 4)
        #expect(router.shard(forTenant: vector.text) == vector.shardOf4)
        #expect(router.shard(forTenant: vector.text) == Int(vector.crc % 4))
    }

    @Test("other shard counts take crc32 mod N")
    func otherShardCounts() {
        #expect(ShardRouter(shards: 16).shard(forTenant: "acme") == 14)
        #expect(ShardRouter(shards: 16).shard(forTenant: "globex") == 10)
        #expect(ShardRouter(shards: 16).shard(forTenant: "tenant-42") == 12)
        #expect(ShardRouter(shards: 7).shard(forTenant: "acme") == Int(96_778_814 % 7))
        for tenant in ["acme", "globex", "initech", "a", "zzz"] {
            #expect(ShardRouter(shards: 1).shard(forTenant: tenant) == 0)
        }
    }

    @Test("every tenant lands on a shard in 0..<shards")
    func shardInRange() {
        let router = ShardRouter(shards: 5)
        var seen: Set<Int> = []
        for index in 0..<200 {
            let shard = router.shard(forTenant: "tenant-\(index)")
            #expect((0..<5).contains(shard))
            seen.insert(shard)
        }
        #expect(seen == [0, 1, 2, 3, 4], "200 tenants spread over all five shards")
    }

    @Test("keys(forTenant:) uses the tenant's shard; allShards lists each shard once")
    func routerKeys() {
        let router = ShardRouter(shards: 4)
        #expect(router.keys(forTenant: "acme").shard == 2)
        #expect(router.keys(forTenant: "acme").tag == "{s2}")
        #expect(router.keys(forTenant: "initech").tag == "{s0}")
        #expect(router.allShards.map(\.shard) == [0, 1, 2, 3])
        #expect(router.allShards.map(\.tag) == ["{s0}", "{s1}", "{s2}", "{s3}"])
    }
}

/// The stream and key names of DESIGN §3 are part of the wire format: fixed, character for character.
@Suite("ShardKeys names")
struct ShardKeysTests {
    let keys = ShardRouter(shards: 4).keys(forTenant: "acme")

    @Test("command streams, one per service")
    func commandStreams() {
        #expect(keys.commands(.pipeline) == "crm:{s2}:cmd:pipeline")
        #expect(keys.commands(.assignment) == "crm:{s2}:cmd:assignment")
        #expect(keys.commands(.sla) == "crm:{s2}:cmd:sla")
        #expect(keys.commands(.integration) == "crm:{s2}:cmd:integration")
        #expect(CommandStream.allCases.map { keys.commands($0) }.count == 4)
    }

    @Test("events, audit and DLQ streams")
    func sharedStreams() {
        #expect(keys.events == "crm:{s2}:events")
        #expect(keys.audit == "crm:{s2}:audit")
        #expect(keys.dlq == "crm:{s2}:dlq")
        #expect(keys.auditHead == "crm:{s2}:audit:head")
    }

    @Test("reply list and idempotency mark of one command")
    func perCommandKeys() {
        #expect(keys.reply(commandID: "01a20f5b-c162-7cbf-9631-048fd978aa3e") == "crm:{s2}:reply:01a20f5b-c162-7cbf-9631-048fd978aa3e")
        #expect(keys.idempotency(group: "pipeline", messageID: "m-1") == "crm:{s2}:idem:pipeline:m-1")
    }

    @Test("tenant-scoped keys stay inside the shard's hash tag")
    func tenantKeys() {
        #expect(keys.tenant("acme") == "crm:{s2}:t:acme")
        #expect(keys.definitions(tenant: "acme", entity: "lead") == "crm:{s2}:t:acme:def:lead")
        #expect(keys.record(tenant: "acme", entity: "lead", id: "L-1001") == "crm:{s2}:t:acme:lead:L-1001")
    }

    @Test("another shard gets another tag")
    func otherShard() {
        let zero = ShardKeys(shard: 0)
        #expect(zero.events == "crm:{s0}:events")
        #expect(zero.commands(.pipeline) == "crm:{s0}:cmd:pipeline")
        #expect(ShardKeys(shard: 13).dlq == "crm:{s13}:dlq")
    }

    @Test("service keys live outside any shard")
    func serviceKeys() {
        #expect(ServiceKeys.health(service: "pipeline", consumer: "host-1") == "crm:health:pipeline:host-1")
        #expect(ServiceKeys.metrics(service: "audit", consumer: "host-2") == "crm:metrics:audit:host-2")
    }
}
