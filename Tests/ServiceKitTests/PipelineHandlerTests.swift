import Contracts
import CrmRedis
import CrmCore
import Foundation
import Synchronization
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

    func run(_ envelopes: [Envelope], with handler: PipelineHandler? = nil) async throws {
        let consumer = fixture.consumer(handler ?? self.handler, name: "p1")
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

    func command(_ type: String, _ payload: JSONValue) -> Envelope {
        Envelope(type: type, kind: .command, tenant: fixture.tenant, actor: "u-1", payload: payload)
    }

    func richDefinition() -> Envelope {
        command("definition.publish", [
            "entity": "lead", "name": "Scored",
            "stages": [["name": "new", "initial": true], ["name": "qualified"], ["name": "nurture"], ["name": "won", "terminal": "won"]],
            "transitions": [
                ["action": "qualify", "from": ["new"], "to": "qualified", "condition": "data.score > 50"],
                ["action": "qualify", "from": ["new"], "to": "nurture"],
                ["action": "close_won", "from": ["qualified"], "to": "won", "guard": "data.score >= 90"],
            ],
            "fields": .array([["name": "name", "type": "string", "required": true], ["name": "score", "type": "number", "min": 0, "max": 100]]
                + (0..<16).map { ["name": .string("f\($0)"), "type": "number"] }),
        ])
    }

    func record(_ id: String) async throws -> JSONValue {
        let bytes = try #require(try await fixture.redis.send("HGET", fixture.shard.record(tenant: "acme", entity: "lead", id: id), "d").bytes)
        return try JSONValue.parse(bytes)
    }

    // FUN-CRM-0282, FUN-CRM-0261, FUN-CRM-0277: update, then an action routed by its condition, guarded.
    @Test("lead.update and lead.apply: changes with old and new values, conditional routing, guards, versions")
    func updateAndApply() async throws {
        let create = command("lead.create", ["leadId": "L-1", "data": ["name": "Ada", "score": 40]])
        let update = command("lead.update", ["leadId": "L-1", "data": ["score": 72], "expectedVersion": 1])
        let stale = command("lead.update", ["leadId": "L-1", "data": ["score": 10], "expectedVersion": 1])
        let qualify = command("lead.apply", ["leadId": "L-1", "action": "qualify", "expectedVersion": 2])
        let closeTooEarly = command("lead.apply", ["leadId": "L-1", "action": "close_won"])
        let unknownAction = command("lead.apply", ["leadId": "L-1", "action": "teleport"])
        let missing = command("lead.update", ["leadId": "L-404", "data": ["score": 1]])
        let badField = command("lead.update", ["leadId": "L-1", "data": ["score": 101]])
        try await run([richDefinition(), create, update, stale, qualify, closeTooEarly, unknownAction, missing, badField])
        #expect(try await outcome(create).type == "command.accepted")
        #expect(try await outcome(update).payload["recordVersion"] == 2)
        for (rejected, code, field) in [(stale, "conflict", "payload.expectedVersion"), (closeTooEarly, "guard_failed", "payload.action"),
                                        (unknownAction, "invalid_transition", "payload.action"), (missing, "not_found", "payload.leadId"),
                                        (badField, "invalid_payload", "payload.data.score")] {
            let result = try await outcome(rejected)
            #expect(result.payload["code"]?.stringValue == code, "\(rejected.payload)")
            #expect(result.payload["field"]?.stringValue == field, "\(rejected.payload)")
        }
        #expect(try await outcome(qualify).payload["recordVersion"] == 3)
        let all = try await events()
        let updated = try #require(all.first { $0.type == "lead.updated" })
        #expect(updated.payload["changes"] == [["field": "score", "old": 40, "new": 72]])
        let moved = try #require(all.first { $0.type == "lead.stage_changed" })
        #expect(moved.payload["from"] == "new")
        #expect(moved.payload["to"] == "qualified", "score 72 > 50 routes to qualified")
        let stored = try await record("L-1")
        #expect(stored["stage"] == "qualified")
        #expect(stored["version"] == 3)
        #expect(stored["data"]?["score"] == 72)
    }

    // REL-CRM-0397, BUS-CRM-0044: 16 concurrent updaters on one record, from two consumers, lose nothing.
    @Test("16 concurrent updaters on one record from two consumers: every change applied, one version each")
    func concurrentUpdaters() async throws {
        try await run([richDefinition(), command("lead.create", ["leadId": "L-hot", "data": ["name": "Hot"]])])
        let updates = (0..<16).map { command("lead.update", ["leadId": "L-hot", "data": [.init("f\($0)"): .integer(Int64($0))]]) }
        let first = fixture.consumer(handler, name: "u1", batchSize: 4)
        let second = fixture.consumer(handler, name: "u2", batchSize: 4)
        let other = Task { try await second.run() }
        try await running(first) {
            for envelope in updates { try await fixture.publish(envelope) }
            #expect(try await eventually {
                let group = try await fixture.redis.xinfoGroups(fixture.shard.commands(.pipeline)).first
                return group?.lag == 0 && group?.pending == 0
            })
        }
        second.requestStop()
        try await other.value
        for envelope in updates { #expect(try await outcome(envelope).type == "command.accepted") }
        let stored = try await record("L-hot")
        #expect(stored["version"] == 17)
        for index in 0..<16 { #expect(stored["data"]?["f\(index)"] == .integer(Int64(index)), "f\(index) was lost") }
        #expect(try await events().filter { $0.type == "lead.updated" }.count == 16)
    }

    // FUN-CRM-0267: an after hook sees the committed change; a before hook's veto writes nothing.
    @Test("registered hooks: a veto is rejected as vetoed with nothing written; an after hook runs once the change is committed")
    func hooks() async throws {
        let seen = Mutex<[Int]>([])
        let redis = fixture.redis
        let key = fixture.shard.record(tenant: "acme", entity: "lead", id: "L-h")
        var registry = ExtensionRegistry()
        registry.before("weekday_only") { proposal in proposal.record.data["weekend"] == .bool(true) ? .veto("not at weekends") : .proceed }
        registry.after("read_back") { _ in
            // The record as stored when the hook runs.
            let version = (try? await redis.send("HGET", key, "v").integer).flatMap { $0 }
            seen.withLock { $0.append(Int(version ?? -1)) }
        }
        let context = ServiceContext(name: "pipeline-service", options: try ServiceOptions.fromEnvironment(), pool: fixture.pool, router: fixture.router, logger: Logger(label: "test"))
        let hooked = PipelineHandler(context: context, extensions: registry)
        let definition = command("definition.publish", [
            "entity": "lead", "name": "Hooked",
            "stages": [["name": "new", "initial": true], ["name": "won", "terminal": "won"]],
            "transitions": [["action": "close_won", "from": ["new"], "to": "won", "hooks": ["before": ["weekday_only"], "after": ["read_back"]]]],
        ])
        let create = command("lead.create", ["leadId": "L-h", "data": ["weekend": true]])
        let vetoed = command("lead.apply", ["leadId": "L-h", "action": "close_won"])
        let weekday = command("lead.update", ["leadId": "L-h", "data": ["weekend": false]])
        let closing = command("lead.apply", ["leadId": "L-h", "action": "close_won"])
        try await running(fixture.consumer(hooked, name: "h1")) {
            for envelope in [definition, create, vetoed, weekday, closing] { try await fixture.publish(envelope) }
            #expect(try await eventually {
                let group = try await fixture.redis.xinfoGroups(fixture.shard.commands(.pipeline)).first
                return group?.lag == 0 && group?.pending == 0
            })
        }
        let refusal = try await outcome(vetoed)
        #expect(refusal.payload["code"] == "vetoed")
        #expect(refusal.payload["message"]?.stringValue?.contains("not at weekends") == true)
        #expect(try await outcome(closing).type == "command.accepted")
        #expect(seen.withLock { $0 } == [3], "the after hook ran once, after the commit of version 3")
        // The same registry must be given to the service that reads the definition back.
        let plain = PipelineHandler(context: context)
        let another = command("lead.create", ["leadId": "L-h2"])
        try await run([another], with: plain)
        #expect(try await outcome(another).payload["code"] == "internal", "without its registry the stored definition cannot be compiled")
    }

    // USE-CRM-0553: leads and opportunities with their own customizable stages.
    @Test("opportunities follow their own definition: create, act, update, each with its events; a lead definition does not serve them")
    func opportunities() async throws {
        let deals = command("definition.publish", [
            "entity": "opportunity", "name": "Deals",
            "stages": [["name": "prospecting", "initial": true], ["name": "proposal"], ["name": "won", "terminal": "won"]],
            "transitions": [["action": "propose", "from": ["prospecting"], "to": "proposal"],
                            ["action": "close_won", "from": ["proposal"], "to": "won", "guard": "data.amount >= 1000"]],
            "fields": [["name": "title", "type": "string", "required": true], ["name": "amount", "type": "number", "min": 0]],
        ])
        let orphan = command("opportunity.create", ["opportunityId": "O-0", "data": ["title": "Too early"]])
        let create = command("opportunity.create", ["opportunityId": "O-1", "data": ["title": "Licence", "amount": 500]])
        let propose = command("opportunity.apply", ["opportunityId": "O-1", "action": "propose", "expectedVersion": 1])
        let tooSmall = command("opportunity.apply", ["opportunityId": "O-1", "action": "close_won"])
        let raise = command("opportunity.update", ["opportunityId": "O-1", "data": ["amount": 2500]])
        let close = command("opportunity.apply", ["opportunityId": "O-1", "action": "close_won"])
        let wrongId = command("opportunity.update", ["leadId": "O-1", "data": ["amount": 1]])
        try await run([orphan, definition(), deals, create, propose, tooSmall, raise, close, wrongId])
        #expect(try await outcome(orphan).payload["code"] == "unknown_definition", "the lead definition does not serve opportunities")
        #expect(try await outcome(create).type == "command.accepted")
        #expect(try await outcome(tooSmall).payload["code"] == "guard_failed")
        #expect(try await outcome(close).payload["recordVersion"] == 4)
        #expect(try await outcome(wrongId).payload["field"] == "payload.leadId")
        let types = try await events().map(\.type).filter { $0.hasPrefix("opportunity.") }
        #expect(types == ["opportunity.created", "opportunity.stage_changed", "opportunity.updated", "opportunity.stage_changed"])
        let bytes = try #require(try await fixture.redis.send("HGET", fixture.shard.record(tenant: "acme", entity: "opportunity", id: "O-1"), "d").bytes)
        let stored = try JSONValue.parse(bytes)
        #expect(stored["stage"] == "won")
        #expect(stored["data"]?["amount"] == 2500)
    }

    // FUN-CRM-0282, BUS-CRM-0044: converting is one atomic change of three records.
    @Test("convert: the lead moves, an opportunity and a contact are made and linked, all in one commit; nothing half-written on refusal")
    func convert() async throws {
        let leads = command("definition.publish", [
            "entity": "lead", "name": "Convertible",
            "stages": [["name": "new", "initial": true], ["name": "converted", "terminal": "won"]],
            "transitions": [["action": "convert", "from": ["new"], "to": "converted"]],
        ])
        let deals = command("definition.publish", [
            "entity": "opportunity", "name": "Deals", "stages": [["name": "open", "initial": true]],
            "fields": [["name": "name", "type": "string", "required": true], ["name": "amount", "type": "number", "required": true]],
        ])
        let early = command("lead.create", ["leadId": "L-early", "data": ["name": "Early"]])
        let earlyConvert = command("lead.apply", ["leadId": "L-early", "action": "convert"])
        let create = command("lead.create", ["leadId": "L-c", "data": ["name": "Ada", "email": "ada@example.com", "company": "AE", "amount": 5000, "note": "x"]])
        let convert = command("lead.apply", ["leadId": "L-c", "action": "convert", "expectedVersion": 1])
        let again = command("lead.apply", ["leadId": "L-c", "action": "convert"])
        let noAmount = command("lead.create", ["leadId": "L-n", "data": ["name": "No budget"]])
        let noAmountConvert = command("lead.apply", ["leadId": "L-n", "action": "convert"])
        let known = command("contact.add", ["contactId": "L-k", "data": ["name": "Known"]])
        let knownLead = command("lead.create", ["leadId": "L-k", "data": ["name": "Known", "amount": 10]])
        let knownConvert = command("lead.apply", ["leadId": "L-k", "action": "convert"])
        let addContact = command("contact.add", ["contactId": "C-1", "data": ["name": "Grace"]])
        let updateContact = command("contact.update", ["contactId": "C-1", "data": ["email": "grace@example.com"], "expectedVersion": 1])
        try await run([leads, early, earlyConvert, deals, create, convert, again, noAmount, noAmountConvert, known, knownLead, knownConvert, addContact, updateContact])

        #expect(try await outcome(earlyConvert).payload["code"] == "unknown_definition", "no opportunity definition yet")
        #expect(try await fixture.redis.send("EXISTS", fixture.shard.record(tenant: "acme", entity: "opportunity", id: "L-early")).integer == 0)
        let earlyLead = try await storedRecord("lead", "L-early")
        #expect(earlyLead["stage"] == "new", "a refused conversion leaves the lead as it was")

        let converted = try await outcome(convert)
        #expect(converted.type == "command.accepted")
        #expect(converted.payload["events"]?.arrayValue?.compactMap { $0["type"]?.stringValue } ==
                ["lead.stage_changed", "opportunity.created", "contact.added", "lead.converted"])
        #expect(try await storedRecord("lead", "L-c")["stage"] == "converted")
        let opportunity = try await storedRecord("opportunity", "L-c")
        #expect(opportunity["stage"] == "open")
        #expect(opportunity["data"] == ["name": "Ada", "amount": 5000], "only the fields the opportunity declares")
        let contact = try await storedRecord("contact", "L-c")
        #expect(contact["data"] == ["name": "Ada", "email": "ada@example.com", "company": "AE"])
        #expect(contact["links"] == ["lead:L-c", "opportunity:L-c"])
        #expect(try await outcome(again).payload["code"] == "invalid_transition", "a converted lead is terminal")

        let refused = try await outcome(noAmountConvert)
        #expect(refused.payload["code"] == "invalid_payload")
        #expect(try await storedRecord("lead", "L-n")["stage"] == "new")
        #expect(try await fixture.redis.send("EXISTS", fixture.shard.record(tenant: "acme", entity: "contact", id: "L-n")).integer == 0)

        let linked = try await outcome(knownConvert)
        #expect(linked.payload["events"]?.arrayValue?.compactMap { $0["type"]?.stringValue } ==
                ["lead.stage_changed", "opportunity.created", "contact.updated", "lead.converted"], "an existing contact is linked, with an event")
        let knownContact = try await storedRecord("contact", "L-k")
        #expect(knownContact["data"] == ["name": "Known"], "its data is left as it was")
        #expect(knownContact["version"] == 2)
        #expect(refused.payload["field"] == "payload.action")

        #expect(try await outcome(addContact).type == "command.accepted")
        let contactChange = try await outcome(updateContact)
        #expect(contactChange.payload["recordVersion"] == 2)
        let changed = try #require(try await events().first { $0.type == "contact.updated" && $0.payload["contactId"] == "C-1" })
        #expect(changed.payload["changes"] == [["field": "email", "old": nil, "new": "grace@example.com"]])
    }

    func storedRecord(_ entity: String, _ id: String) async throws -> JSONValue {
        let bytes = try #require(try await fixture.redis.send("HGET", fixture.shard.record(tenant: "acme", entity: entity, id: id), "d").bytes)
        return try JSONValue.parse(bytes)
    }

    // FUN-CRM-0289, USE-CRM-0563: custom fields without migrations.
    @Test("fields.configure: custom fields are checked on every write; removing one keeps old values readable")
    func customFields() async throws {
        let leads = command("definition.publish", [
            "entity": "lead", "name": "Plain", "stages": [["name": "new", "initial": true]],
            "fields": [["name": "name", "type": "string", "required": true]],
        ])
        let add = command("fields.configure", ["entity": "lead", "add": [
            ["name": "industry", "type": "enum", "values": ["retail", "software"]], ["name": "employees", "type": "number", "min": 0],
        ]])
        let shadow = command("fields.configure", ["entity": "lead", "add": [["name": "name", "type": "number"]]])
        let good = command("lead.create", ["leadId": "L-f", "data": ["name": "Ada", "industry": "retail", "employees": 12]])
        let badEnum = command("lead.create", ["leadId": "L-g", "data": ["name": "Bob", "industry": "farming"]])
        let remove = command("fields.configure", ["entity": "lead", "remove": ["industry"]])
        let writeRemoved = command("lead.update", ["leadId": "L-f", "data": ["industry": "software"]])
        let writeKept = command("lead.update", ["leadId": "L-f", "data": ["employees": 15]])
        let removeUnknown = command("fields.configure", ["entity": "lead", "remove": ["ghost"]])
        let empty = command("fields.configure", ["entity": "lead"])
        try await run([leads, add, shadow, good, badEnum, remove, writeRemoved, writeKept, removeUnknown, empty])
        #expect(try await outcome(add).payload["recordVersion"] == 1)
        let shadowed = try await outcome(shadow)
        #expect(shadowed.payload["code"] == "invalid_payload")
        #expect(shadowed.payload["field"] == "payload.add[0].name")
        #expect(try await outcome(good).type == "command.accepted")
        let refused = try await outcome(badEnum)
        #expect(refused.payload["field"] == "payload.data.industry")
        #expect(try await outcome(remove).type == "command.accepted")
        #expect(try await outcome(writeRemoved).payload["field"] == "payload.data.industry", "a removed field takes no new writes")
        #expect(try await outcome(writeKept).type == "command.accepted")
        #expect(try await outcome(removeUnknown).payload["code"] == "not_found")
        #expect(try await outcome(empty).payload["code"] == "invalid_payload")
        let stored = try await storedRecord("lead", "L-f")
        #expect(stored["data"]?["industry"] == "retail", "the old value stays readable")
        #expect(stored["data"]?["employees"] == 15)
        let configured = try await events().filter { $0.type == "fields.configured" }.map { $0.payload }
        #expect(configured.last?["removed"] == ["industry"])
        #expect(configured.last?["fields"] == ["employees"])
    }

    // USE-CRM-0558: interactions with notes and file attachments, checksummed.
    @Test("interaction.log: files stored under their SHA-256 and verified on read; limits, types, subjects and tenants enforced")
    func interactions() async throws {
        let file = Array("Budget confirmed.\n".utf8)
        let digest = Checksum.sha256(file)
        let leads = definition()
        let lead = fixture.leadCreate(leadID: "L-i")
        let log = command("interaction.log", [
            "interactionId": "I-1", "kind": "call", "subject": "lead:L-i", "notes": "Called",
            "attachments": [["name": "notes.txt", "contentType": "text/plain", "contentBase64": .string(Data(file).base64EncodedString())]],
        ])
        let huge = command("interaction.log", [
            "interactionId": "I-2", "kind": "email", "subject": "lead:L-i",
            "attachments": [["name": "big.pdf", "contentType": "application/pdf", "contentBase64": .string(Data(count: 600_000).base64EncodedString())]],
        ])
        let exe = command("interaction.log", [
            "interactionId": "I-3", "kind": "email", "subject": "lead:L-i",
            "attachments": [["name": "run.exe", "contentType": "application/x-msdownload", "contentBase64": "AAAA"]],
        ])
        let nowhere = command("interaction.log", ["interactionId": "I-4", "kind": "note", "subject": "lead:L-ghost"])
        let otherTenant = Envelope(type: "interaction.log", kind: .command, tenant: "globex", actor: "u-1",
                                   payload: ["interactionId": "I-5", "kind": "note", "subject": "lead:L-i"])
        try await run([leads, lead, log, huge, exe, nowhere, otherTenant])
        #expect(try await outcome(log).type == "command.accepted")
        #expect(try await outcome(huge).payload["code"] == "too_large")
        #expect(try await outcome(exe).payload["field"] == "payload.attachments[0].contentType")
        #expect(try await outcome(nowhere).payload["code"] == "not_found")
        let globex = fixture.router.keys(forTenant: "globex")
        let foreign = try EnvelopeReader().read(try #require(try await fixture.redis.send("LPOP", globex.reply(commandID: otherTenant.id)).bytes))
        #expect(foreign.payload["code"] == "not_found", "another tenant's record is not found (SEC-CRM-0449)")

        let logged = try #require(try await events().first { $0.type == "interaction.logged" })
        #expect(logged.payload["attachments"] == [["name": "notes.txt", "contentType": "text/plain", "size": .integer(Int64(file.count)), "sha256": .string(digest)]])
        let store = CrmStore(pool: fixture.pool)
        #expect(try await store.blob(shard: fixture.shard, tenant: "acme", sha256: digest) == file)
        #expect(try await store.blob(shard: globex, tenant: "globex", sha256: digest) == nil, "attachments are per tenant")
        try await fixture.redis.send("HSET", fixture.shard.record(tenant: "acme", entity: "blob", id: digest), "d", "Budget doubled.\n")
        await #expect(throws: CorruptedData.self) { try await store.blob(shard: fixture.shard, tenant: "acme", sha256: digest) }
    }

    @Test("the idempotency window follows CRM_IDEMPOTENCY_TTL_S; the reply list expires after five minutes")
    func idempotencyWindow() async throws {
        var options = try ServiceOptions.fromEnvironment()
        options.idempotencyTTLSeconds = 120
        let context = ServiceContext(name: "pipeline-service", options: options, pool: fixture.pool, router: fixture.router, logger: Logger(label: "test"))
        let publish = definition()
        try await run([publish], with: PipelineHandler(context: context))
        let markTTL = try await fixture.redis.send("TTL", fixture.shard.idempotency(group: "pipeline", messageID: publish.id)).integer ?? -2
        #expect((100...120).contains(markTTL), "mark TTL \(markTTL)")
        let replyTTL = try await fixture.redis.send("TTL", fixture.shard.reply(commandID: publish.id)).integer ?? -2
        #expect((280...300).contains(replyTTL), "reply TTL \(replyTTL)")
    }
}
