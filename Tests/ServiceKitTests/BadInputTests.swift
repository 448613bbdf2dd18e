import AssignmentService
import Contracts
import CrmRedis
import Foundation
import Logging
import PipelineService
import RedisClient
import TestSupport
import Testing

/// Every command type of pipeline-service and the directory, fed missing, extra, wrongly typed and
/// oversized fields, other tenants' record ids and unknown definitions, on a real Redis: each gets
/// `command.rejected` with a specific code and field, and no tenant key changes.
@Suite("bad input: a specific rejection for every command type, nothing half-written")
struct BadInputTests {
    let fixture: ConsumerFixture
    let pipeline: PipelineCommands
    let directory: AssignmentCommands

    init() async throws {
        fixture = try await ConsumerFixture()
        let storage = RedisCrmStorage(pool: fixture.pool)
        pipeline = PipelineCommands(storage: storage, logger: Logger(label: "test"))
        directory = AssignmentCommands(storage: storage, logger: Logger(label: "test"))
    }

    func command(_ type: String, _ payload: JSONValue, tenant: String = "acme") -> Envelope {
        Envelope(type: type, kind: .command, tenant: tenant, actor: "u-1", payload: payload)
    }

    func execute(_ command: Envelope) async throws -> Envelope {
        let shard = fixture.router.keys(forTenant: command.tenant)
        let outcome = AssignmentCommands.types.contains(command.type)
            ? try await directory.execute(command, shard: shard) : try await pipeline.execute(command, shard: shard)
        guard case .decided(let envelope) = outcome else { throw TestHarnessError.timedOut("a first outcome, got a replay") }
        return envelope
    }

    /// Every tenant key with its version (a hash's `v`; the size of a dashboard index's sorted set).
    func tenantKeys() async throws -> [String: String] {
        var versions: [String: String] = [:]
        for key in (try await fixture.redis.send("KEYS", "crm:*:t:*").array ?? []).compactMap(\.string) {
            if try await fixture.redis.send("TYPE", key).string == "zset" {
                versions[key] = "zset:\(try await fixture.redis.send("ZCARD", key).integer ?? 0)"
            } else {
                versions[key] = try await fixture.redis.send("HGET", key, "v").string ?? "?"
            }
        }
        return versions
    }

    // SEC-CRM-0449, REL-CRM-0391: bad input is refused with a reason and loses nothing.
    @Test("missing, extra, wrong and oversized fields, cross-tenant ids and unknown definitions, per command type")
    func everyCommandType() async throws {
        let setup = [
            command("definition.publish", ["entity": "lead", "name": "Leads",
                                           "stages": [["name": "new", "initial": true], ["name": "qualified"], ["name": "won", "terminal": "won"]],
                                           "transitions": [["action": "qualify", "from": ["new"], "to": "qualified"], ["action": "convert", "from": ["qualified"], "to": "won"]],
                                           "fields": [["name": "name", "type": "string", "required": true, "maxLength": 200], ["name": "score", "type": "number", "min": 0, "max": 100]]]),
            command("definition.publish", ["entity": "opportunity", "name": "Deals", "stages": [["name": "open", "initial": true], ["name": "won", "terminal": "won"]],
                                           "transitions": [["action": "win", "from": ["open"], "to": "won"]]]),
            command("lead.create", ["leadId": "L-1", "data": ["name": "Ada"]]),
            command("opportunity.create", ["opportunityId": "O-1"]),
            command("contact.add", ["contactId": "C-1", "data": ["name": "Ada"]]),
        ]
        for step in setup { #expect(try await execute(step).type == "command.accepted", "setup: \(step.type)") }
        let before = try await tenantKeys()

        let long = String(repeating: "x", count: 201)
        let manyFields = JSONValue.object(Dictionary(uniqueKeysWithValues: (0..<201).map { ("f\($0)", JSONValue.integer(1)) }))
        let cases: [(Envelope, String, String?)] = [
            (command("definition.publish", ["entity": "lead", "name": "X"]), "invalid_payload", "payload.stages"),
            (command("definition.publish", ["entity": "lead", "name": "X", "stages": [["name": "new", "initial": true]], "color": "red"]), "invalid_payload", "payload.color"),
            (command("definition.publish", ["entity": "lead", "name": 5, "stages": [["name": "new", "initial": true]]]), "invalid_payload", "payload.name"),
            (command("definition.publish", ["entity": "lead", "name": .string(long), "stages": [["name": "new", "initial": true]]]), "invalid_payload", "payload.name"),
            (command("definition.publish", ["entity": "lead", "name": "X", "stages": [["name": "new", "initial": true]],
                                            "transitions": [["action": "go", "from": ["new"], "to": "nowhere"]]]), "invalid_definition", "payload.transitions[0].to"),
            (command("lead.create", ["leadId": "L-9", "definitionVersion": 9, "data": ["name": "A"]]), "unknown_definition", "payload.definitionVersion"),
            (command("lead.create", ["leadId": "L-9", "data": ["name": "A", "score": 500]]), "invalid_payload", "payload.data.score"),
            (command("lead.create", ["leadId": "L-9", "data": manyFields]), "invalid_payload", "payload.data"),
            (command("lead.create", ["leadId": "L-9"], tenant: "b"), "unknown_definition", nil),
            (command("lead.update", ["data": ["name": "B"]]), "invalid_payload", "payload.leadId"),
            (command("lead.update", ["leadId": "L-1", "data": ["name": "B"], "stage": "won"]), "invalid_payload", "payload.stage"),
            (command("lead.update", ["leadId": "L-1", "data": "B"]), "invalid_payload", "payload.data"),
            (command("lead.update", ["leadId": "L-1", "data": ["name": .string(long)]]), "invalid_payload", "payload.data.name"),
            (command("lead.update", ["leadId": "L-1", "data": ["name": "B"], "expectedVersion": 7]), "conflict", "payload.expectedVersion"),
            (command("lead.update", ["leadId": "L-1", "data": ["name": "B"]], tenant: "b"), "not_found", "payload.leadId"),
            (command("lead.apply", ["leadId": "L-1"]), "invalid_payload", "payload.action"),
            (command("lead.apply", ["leadId": "L-1", "action": 5]), "invalid_payload", "payload.action"),
            (command("lead.apply", ["leadId": "L-1", "action": "win"]), "invalid_transition", "payload.action"),
            (command("lead.apply", ["leadId": "L-1", "action": "qualify"], tenant: "b"), "not_found", "payload.leadId"),
            (command("opportunity.create", ["opportunityId": "O-2", "data": ["a": ["b": 1]]]), "invalid_payload", "payload.data.a"),
            (command("opportunity.update", ["opportunityId": "O-1"]), "invalid_payload", "payload.data"),
            (command("opportunity.apply", ["opportunityId": "O-1", "action": "win"], tenant: "b"), "not_found", "payload.opportunityId"),
            (command("contact.add", ["data": ["name": "A"]]), "invalid_payload", "payload.contactId"),
            (command("contact.add", ["contactId": "C-2", "links": ["lead:L-404"]]), "not_found", "payload.links[0]"),
            (command("contact.add", ["contactId": "C-2", "links": ["lead:L-1"]], tenant: "b"), "not_found", "payload.links[0]"),
            (command("contact.add", ["contactId": "C-2", "links": ["invoice:1"]]), "invalid_payload", "payload.links[0]"),
            (command("contact.update", ["contactId": "C-1", "data": ["name": "B"]], tenant: "b"), "not_found", "payload.contactId"),
            (command("contact.update", ["contactId": "C-1", "data": ["name": "B"], "extra": 1]), "invalid_payload", "payload.extra"),
            (command("fields.configure", ["entity": "invoice", "add": []]), "invalid_payload", "payload.entity"),
            (command("fields.configure", ["entity": "lead", "add": [["name": "name", "type": "string"]]]), "invalid_payload", "payload.add[0].name"),
            (command("fields.configure", ["entity": "lead", "remove": ["never_added"]]), "not_found", "payload.remove[0]"),
            (command("interaction.log", ["interactionId": "I-1", "kind": "fax", "subject": "lead:L-1"]), "invalid_payload", "payload.kind"),
            (command("interaction.log", ["interactionId": "I-1", "kind": "call", "subject": "lead:L-1"], tenant: "b"), "not_found", "payload.subject"),
            (command("directory.put_user", ["roles": ["admin"]]), "invalid_payload", "payload.userId"),
            (command("directory.put_user", ["userId": "u-1", "roles": "admin"]), "invalid_payload", "payload.roles"),
            (command("directory.put_user", ["userId": "u-1", "roles": ["sales"]]), "invalid_payload", "payload.roles"),
        ]
        for (bad, code, field) in cases {
            let outcome = try await execute(bad)
            #expect(outcome.type == "command.rejected", "\(bad.type) \(bad.payload)")
            #expect(outcome.payload["code"]?.stringValue == code, "\(bad.type) \(bad.payload): \(outcome.payload["message"] ?? .null)")
            #expect(outcome.payload["field"]?.stringValue == field, "\(bad.type) \(bad.payload)")
        }
        #expect(try await tenantKeys() == before, "a rejected command changes no tenant key")
    }
}
