import Contracts
import CrmKit
import Foundation
import RedisClient
import TestSupport
import Testing

@Suite("resilience: a torn AOF tail, entries trimmed while pending", .serialized)
struct ResilienceTests {
    func command(_ type: String, _ payload: JSONValue, tenant: String = "acme") -> Envelope {
        Envelope(type: type, kind: .command, tenant: tenant, actor: "u-1", payload: payload)
    }

    static let definition: JSONValue = [
        "entity": "lead", "name": "Leads", "stages": [["name": "new", "initial": true], ["name": "won", "terminal": "won"]],
        "transitions": [["action": "win", "from": ["new"], "to": "won"]],
    ]

    // REL-CRM-0403: a truncated AOF tail loads without a half-applied change.
    @Test("redis-server killed and its AOF torn mid-write: it loads, and every change is whole (record, events, outcome, mark)")
    func tornAOFTail() async throws {
        let deployment = try await Deployment()
        try await deployment.start("pipeline-service")
        let client = CrmClient(endpoint: try RedisEndpoint(url: deployment.server.url), shards: 4)
        #expect(try await client.send(command("definition.publish", Self.definition)).accepted)
        for index in 0..<40 {
            _ = try await client.send(command("lead.create", ["leadId": .string("L-\(index)"), "data": ["n": .integer(Int64(index))]]))
        }
        await client.close()
        deployment.server.stop(hard: true)
        await deployment.stopAll()
        // Tear the newest AOF part in the middle of its last commit.
        let folder = deployment.server.directory.appendingPathComponent("appendonlydir")
        let parts = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".incr.aof") }.sorted()
        let newest = folder.appendingPathComponent(try #require(parts.last))
        let bytes = Array(try Data(contentsOf: newest))
        // Cut inside the transaction that wrote the last lead: right after its id's last appearance,
        // before the transaction's EXEC.
        let marker = Array("L-39".utf8)
        let cut = try #require((0...(bytes.count - marker.count)).last { Array(bytes[$0..<($0 + marker.count)]) == marker })
        try Data(bytes.prefix(cut + marker.count)).write(to: newest)
        try await deployment.server.start()

        let redis = deployment.server.connection()
        let shard = deployment.shard("acme")
        let events = try await redis.xrange(shard.events).map { try EnvelopeReader().read($0.field("envelope") ?? []) }
        let outcomes = Set(events.filter { $0.type == "command.accepted" }.compactMap(\.causationId))
        let created = Set(events.filter { $0.type == "lead.created" }.compactMap { $0.payload["leadId"]?.stringValue })
        var whole = 0
        for index in 0..<40 {
            let key = shard.record(tenant: "acme", entity: "lead", id: "L-\(index)")
            let stored = try await redis.send("HMGET", key, "v", "d").array ?? []
            let exists = stored.first?.string != nil
            #expect(exists == created.contains("L-\(index)"), "L-\(index): record and event together")
            if exists {
                #expect(stored.count == 2 && stored[1].string?.contains("\"version\":1") == true)
                whole += 1
            }
        }
        #expect(whole == 39, "the torn transaction is dropped whole, everything before it kept")
        // An outcome on the stream means its idempotency mark survived with it.
        let marks = try await redis.send("KEYS", "crm:*:idem:pipeline:*").array?.count ?? 0
        #expect(marks == outcomes.count, "one mark per outcome")
        await redis.close()
    }

    // REL-CRM-0391: a pending entry deleted from its stream is let go, and the rest flows.
    @Test("an entry trimmed while pending in a dead consumer: claimed as deleted, acknowledged, and later commands still handled")
    func trimmedWhilePending() async throws {
        let deployment = try await Deployment()
        let shard = deployment.shard("acme")
        let stream = shard.commands(.pipeline)
        let definition = command("definition.publish", Self.definition)
        _ = try await deployment.redis.send("XGROUP", "CREATE", stream, "pipeline", "0", "MKSTREAM")
        let lost = try await deployment.redis.xadd(stream, fields: [("envelope", command("lead.create", ["leadId": "L-lost"]).encoded())])
        // A consumer that read it and died.
        _ = try await deployment.redis.send("XREADGROUP", "GROUP", "pipeline", "ghost", "COUNT", "10", "STREAMS", stream, ">")
        _ = try await deployment.redis.send("XDEL", stream, lost)
        try await deployment.start("pipeline-service", extra: ["CRM_CLAIM_IDLE_MS": "200"])
        let client = CrmClient(endpoint: try RedisEndpoint(url: deployment.server.url), shards: 4)
        #expect(try await client.send(definition).accepted)
        #expect(try await client.send(command("lead.create", ["leadId": "L-after"])).accepted)
        let clean = try await eventually(timeout: .seconds(10)) { try await deployment.redis.xinfoGroups(stream).first?.pending == 0 }
        #expect(clean, "the deleted entry no longer pending anywhere")
        #expect(try await deployment.redis.xlen(shard.dlq) == 0)
        await client.close()
        await deployment.stopAll()
    }
}
