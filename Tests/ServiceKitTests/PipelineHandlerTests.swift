import Contracts
import CrmRedis
import Foundation
import Logging
import PipelineService
import RedisClient
import ServiceKit
import TestSupport
import Testing

@Suite("pipeline-service handler: outcomes, idempotency and atomic writes")
struct PipelineHandlerTests {
    let fixture: ConsumerFixture
    let handler: PipelineHandler

    init() async throws {
        fixture = try await ConsumerFixture()
        let context = ServiceContext(name: "pipeline-service", options: try ServiceOptions.fromEnvironment(), pool: fixture.pool, router: fixture.router, logger: Logger(label: "test"))
        handler = PipelineHandler(context: context)
    }

    func definition(id: String = Envelope.newID(), stages: JSONValue? = nil) -> Envelope {
        Envelope(id: id, type: "definition.publish", kind: .command, tenant: fixture.tenant, actor: "u-1", payload: [
            "entity": "lead", "name": "Inbound",
            "stages": stages ?? [["name": "new", "initial": true], ["name": "qualified"], ["name": "won", "terminal": "won"]],
            "transitions": [["action": "qualify", "from": ["new"], "to": "qualified"], ["action": "close_won", "from": ["qualified"], "to": "won"]],
        ])
    }

    /// Pops the outcome pushed for a command.
    func outcome(_ command: Envelope) async throws -> Envelope {
        let reply = try await fixture.redis.send("LPOP", fixture.shard.reply(commandID: command.id))
        return try EnvelopeReader().read(try #require(reply.bytes))
    }

    func events() async throws -> [Envelope] {
        try await fixture.redis.xrange(fixture.shard.events).map { try EnvelopeReader().read($0.field("envelope") ?? []) }
    }

    func run(_ envelopes: [Envelope]) async throws {
        let consumer = fixture.consumer(handler, name: "p1")
        try await running(consumer) {
            for envelope in envelopes { try await fixture.publish(envelope) }
            let stream = fixture.shard.commands(.pipeline)
            #expect(try await eventually {
                let groups = try await fixture.redis.xinfoGroups(stream)
                return groups.first?.lag == 0 && groups.first?.pending == 0
            })
        }
    }

    // FUN-CRM-0275: a definition is published as JSON, compiled and stored with a version.
    @Test("definition.publish then lead.create: accepted, events written, records stored")
    func firstPath() async throws {
        let publish = definition()
        let create = fixture.leadCreate(leadID: "L-1")
        try await run([publish, create])
        let published = try await outcome(publish)
        #expect(published.type == "command.accepted")
        #expect(published.causationId == publish.id)
        let created = try await outcome(create)
        #expect(created.type == "command.accepted")
        #expect(created.payload["recordId"] == "L-1")
        let stream = try await events()
        #expect(stream.map(\.type) == ["definition.published", "command.accepted", "lead.created", "command.accepted"])
        #expect(stream[2].payload["stage"] == "new")
        #expect(stream[2].payload["definitionVersion"] == 1)
        let stored = try await fixture.redis.send("HGET", fixture.shard.record(tenant: "acme", entity: "lead", id: "L-1"), "v")
        #expect(stored.integer == 1)
    }

    @Test("a replayed command id returns the first outcome and changes nothing")
    func replay() async throws {
        let publish = definition()
        let create = fixture.leadCreate(leadID: "L-7")
        try await run([publish, create, create, create])
        let first = try await outcome(create)
        let second = try await outcome(create)
        let third = try await outcome(create)
        #expect(first == second)
        #expect(first == third)
        let created = try await events().filter { $0.type == "lead.created" }
        #expect(created.count == 1, "one effect for three deliveries of the same id")
    }

    @Test("bad payloads and unknown definitions are rejected with a code, nothing written")
    func rejections() async throws {
        let noDefinition = fixture.leadCreate(leadID: "L-1")
        let extraField = Envelope(type: "lead.create", kind: .command, tenant: fixture.tenant, actor: "u-1", payload: ["leadId": "L-2", "color": "red"])
        let missingField = Envelope(type: "lead.create", kind: .command, tenant: fixture.tenant, actor: "u-1", payload: ["data": [:]])
        let wrongType = Envelope(type: "lead.create", kind: .command, tenant: fixture.tenant, actor: "u-1", payload: ["leadId": 42])
        let badID = Envelope(type: "lead.create", kind: .command, tenant: fixture.tenant, actor: "u-1", payload: ["leadId": "crm:{s0}:x"])
        let nested = Envelope(type: "lead.create", kind: .command, tenant: fixture.tenant, actor: "u-1", payload: ["leadId": "L-3", "data": ["a": ["b": 1]]])
        let badDefinition = definition(stages: [["name": "new"], ["name": "new"]])
        try await run([noDefinition, extraField, missingField, wrongType, badID, nested, badDefinition])
        let expected: [(Envelope, String, String?)] = [
            (noDefinition, "unknown_definition", nil), (extraField, "invalid_payload", "payload.color"),
            (missingField, "invalid_payload", "payload.leadId"), (wrongType, "invalid_payload", "payload.leadId"),
            (badID, "invalid_payload", "payload.leadId"), (nested, "invalid_payload", "payload.data.a"),
            (badDefinition, "invalid_definition", "payload.stages[1].name"),
        ]
        for (command, code, field) in expected {
            let result = try await outcome(command)
            #expect(result.type == "command.rejected", "\(command.payload)")
            #expect(result.payload["code"]?.stringValue == code, "\(command.payload)")
            #expect(result.payload["field"]?.stringValue == field, "\(command.payload)")
        }
        #expect(try await events().allSatisfy { $0.type == "command.rejected" })
        let tenantKeys = try await fixture.redis.send("KEYS", "crm:*:t:*").array ?? []
        #expect(tenantKeys.isEmpty, "a rejected command writes no tenant data")
    }

    // BUS-CRM-0079: one CRM instance per subject; REL-CRM-0397: concurrent commands never lose an update.
    @Test("creating the same lead twice, from two consumers at once, keeps one record")
    func oneInstancePerSubject() async throws {
        try await run([definition()])
        let creates = (0..<20).map { _ in fixture.leadCreate(leadID: "L-same") }
        let first = fixture.consumer(handler, name: "p1")
        let second = fixture.consumer(handler, name: "p2")
        let other = Task { try await second.run() }
        try await running(first) {
            for envelope in creates { try await fixture.publish(envelope) }
            #expect(try await eventually {
                let group = try await fixture.redis.xinfoGroups(fixture.shard.commands(.pipeline)).first
                return group?.lag == 0 && group?.pending == 0
            })
        }
        second.requestStop()
        try await other.value
        for command in creates {
            let result = try await outcome(command)
            #expect(result.type == "command.accepted")
            #expect(result.payload["recordId"] == "L-same")
        }
        #expect(try await events().filter { $0.type == "lead.created" }.count == 1)
    }
}
