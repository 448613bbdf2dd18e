import Contracts
import Foundation
import RedisClient
import ServiceKit
import TestSupport
import Testing

@Suite("ServiceKit consumer loop against a real redis-server")
struct StreamConsumerTests {
    let fixture: ConsumerFixture

    init() async throws {
        fixture = try await ConsumerFixture()
    }

    @Test("handled entries are acknowledged after the handler returns")
    func handlesAndAcks() async throws {
        let handler = RecordingHandler()
        let sent = (0..<20).map { _ in fixture.leadCreate() }
        try await running(fixture.consumer(handler, name: "c1")) {
            for envelope in sent { try await fixture.publish(envelope) }
            #expect(await eventually { handler.handledIDs.count == 20 })
        }
        #expect(Set(handler.handledIDs) == Set(sent.map(\.id)))
        #expect(try await fixture.redis.pendingCount(fixture.shard.commands(.pipeline), group: "testers") == 0)
    }

    // REL-CRM-0409: transient failures are retried; a poison entry is parked after the delivery limit.
    @Test("a poison message goes to the DLQ after the delivery limit while later messages flow")
    func poisonMessage() async throws {
        let poison = fixture.leadCreate()
        let handler = RecordingHandler(poisoned: [poison.id])
        let good = (0..<5).map { _ in fixture.leadCreate() }
        try await running(fixture.consumer(handler, name: "c1", claimIdle: .milliseconds(100), maxDeliveries: 3)) {
            try await fixture.publish(poison)
            for envelope in good { try await fixture.publish(envelope) }
            #expect(await eventually(timeout: .seconds(5)) { handler.handledIDs.count == 5 }, "later messages are not blocked by the poison one")
            #expect(try await eventually(timeout: .seconds(10)) { try await fixture.dlq().count == 1 })
        }
        let parked = try #require(try await fixture.dlq().first)
        #expect(parked.string("reason") == "max_deliveries")
        #expect(Int(parked.string("deliveries") ?? "") == 4)
        #expect(parked.string("source") == fixture.shard.commands(.pipeline))
        #expect(parked.string("group") == "testers")
        #expect(parked.field("envelope") == poison.encoded(), "the DLQ keeps the bytes as received")
        #expect(try await fixture.redis.pendingCount(fixture.shard.commands(.pipeline), group: "testers") == 0)
        #expect(!handler.handledIDs.contains(poison.id))
    }

    @Test("bad input goes to the DLQ with a reason and never stops the consumer")
    func badInputIsParked() async throws {
        let handler = RecordingHandler()
        let stream = fixture.shard.commands(.pipeline)
        var unknownVersion = fixture.leadCreate()
        unknownVersion.version = 9
        var unknownType = fixture.leadCreate()
        unknownType.type = "lead.teleport"
        let otherShardTenant = "initech"  // crc32 → shard 0, written to acme's shard 2 below
        let wrongShard = fixture.leadCreate(tenant: otherShardTenant)
        var event = fixture.leadCreate()
        event.kind = .event
        let oversized = Array(repeating: UInt8(ascii: "x"), count: (1 << 20) + 1)
        let cases: [(bytes: [UInt8], reason: String)] = [
            (Array("{not json".utf8), "malformed_json"),
            ([0xFF, 0xFE, 0x00], "malformed_json"),
            (oversized, "too_large"),
            (Array(#"{"id":"x1","type":"lead.create","version":1,"kind":"command","tenant":"acme","actor":"u-1","occurredAt":"2026-11-24T21:00:00Z"}"#.utf8), "invalid_envelope"),
            (unknownVersion.encoded(), "unsupported_version"),
            (unknownType.encoded(), "unknown_type"),
            (wrongShard.encoded(), "wrong_shard"),
            (event.encoded(), "wrong_stream"),
        ]
        let good = fixture.leadCreate()
        try await running(fixture.consumer(handler, name: "c1")) {
            for item in cases { try await fixture.publishRaw(item.bytes, to: stream) }
            // An entry without the envelope field at all.
            try await fixture.redis.xadd(stream, fields: [("other", Array("x".utf8))])
            try await fixture.publish(good)
            #expect(await eventually { handler.handledIDs == [good.id] })
            #expect(try await eventually { try await fixture.dlq().count == cases.count + 1 })
        }
        let parked = try await fixture.dlq()
        #expect(parked.map { $0.string("reason") ?? "" } == cases.map(\.reason) + ["invalid_envelope"])
        #expect(parked[2].field("envelope")?.count == oversized.count, "even an oversized entry is kept as received")
        #expect(parked.allSatisfy { !($0.string("detail") ?? "").isEmpty })
        #expect(try await fixture.redis.pendingCount(stream, group: "testers") == 0)
    }

    @Test("entries left pending by a consumer that died are claimed and handled by another")
    func claimsFromDeadConsumer() async throws {
        let stream = fixture.shard.commands(.pipeline)
        let sent = (0..<10).map { _ in fixture.leadCreate() }
        for envelope in sent { try await fixture.publish(envelope) }
        // A consumer reads the batch and dies before acknowledging anything.
        try await fixture.redis.xgroupCreate(stream, group: "testers")
        let taken = try await fixture.redis.xreadgroup(group: "testers", consumer: "dead", streams: [stream], count: 100, block: nil)
        #expect(taken.first?.entries.count == 10)
        let handler = RecordingHandler()
        try await running(fixture.consumer(handler, name: "alive", claimIdle: .milliseconds(200))) {
            #expect(await eventually(timeout: .seconds(5)) { handler.handledIDs.count == 10 })
        }
        #expect(Set(handler.handledIDs) == Set(sent.map(\.id)))
        #expect(try await fixture.redis.pendingCount(stream, group: "testers") == 0)
    }

    @Test("a stop request finishes the batch in hand and acknowledges it")
    func gracefulStop() async throws {
        let handler = RecordingHandler(delay: .milliseconds(30))
        let consumer = fixture.consumer(handler, name: "c1", batchSize: 10)
        // All ten are waiting before the consumer starts, so its first read takes them as one batch.
        for _ in 0..<10 { try await fixture.publish(fixture.leadCreate()) }
        let task = Task { try await consumer.run() }
        #expect(await eventually { handler.handledIDs.count >= 1 })
        consumer.requestStop()
        try await task.value
        let stream = fixture.shard.commands(.pipeline)
        #expect(handler.handledIDs.count == 10, "the batch in hand was finished")
        #expect(try await fixture.redis.pendingCount(stream, group: "testers") == 0, "nothing left unacknowledged")
    }

    @Test("messages with one ordering key keep their order; a failure holds back the later ones of its lane only")
    func lanesKeepOrder() async throws {
        let first = fixture.leadCreate(leadID: "L-same")
        let handler = RecordingHandler(poisoned: [first.id])
        let second = fixture.leadCreate(leadID: "L-same")
        let other = fixture.leadCreate(leadID: "L-other")
        for envelope in [first, second, other] { try await fixture.publish(envelope) }
        try await running(fixture.consumer(handler, name: "c1", claimIdle: .milliseconds(150), maxDeliveries: 2)) {
            #expect(await eventually { handler.handledIDs.contains(other.id) })
            #expect(!handler.handledIDs.contains(second.id), "the second command on L-same waits for the first")
            #expect(try await eventually(timeout: .seconds(10)) { (try? await fixture.dlq().count ?? 0) ?? 0 >= 1 })
        }
        let parked = try await fixture.dlq()
        #expect(parked.first?.field("envelope") == first.encoded())
        #expect(parked.first?.string("reason") == "max_deliveries")
    }
}
