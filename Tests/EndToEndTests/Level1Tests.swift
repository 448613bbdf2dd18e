import Contracts
import CrmCore
import CrmKit
import CrmRedis
import Foundation
import RedisClient
import TestSupport
import Testing

/// An app's model with a CRM, as an app writes it (Level 1): contact fields in code, nothing else.
struct Customer: HasCrm {
    let id: String
    var crmID: String { id }
    static let crmContactFields = [
        FieldRule(name: "name", type: .string, required: true, maxLength: 200),
        FieldRule(name: "email", type: .email, required: true),
        FieldRule(name: "phone", type: .phone),
    ]
}

/// The Level 1 suite: the same calls and the same expectations whichever way the engine runs.
enum Level1Suite {
    static func run(_ engine: CrmEngine, subject: String, historyTimeout: Duration) async throws {
        try await CrmEngine.$current.withValue(engine) {
            let customer = Customer(id: subject)
            let crm = try customer.crm()

            // One CRM instance per subject, however many callers start it at once.
            async let first = crm.lead()
            async let second = Customer(id: subject).crm().lead()
            let (a, b) = try await (first, second)
            #expect(a.id == subject && b.id == subject && a.version == 1 && b.version == 1)
            #expect(a.stage == "new")

            // Contact fields declared in code are checked, naming the field.
            await #expect(throws: CrmKitError.invalidField(field: "data.email", message: "email is required")) {
                try await crm.addContact(["name": "Ada Lovelace"])
            }
            await #expect(throws: CrmKitError.self) { try await crm.addContact(["name": "Ada", "email": "not-an-email"]) }
            let ada = try await crm.addContact(["name": "Ada Lovelace", "email": "ada@example.com"], contactID: "\(subject)-ada")
            try await crm.addContact(["name": "Ada again", "email": "other@example.com"], contactID: "\(subject)-ada")
            try await crm.addContact(["name": "Charles Babbage", "email": "charles@example.com", "phone": "+44 20 7946 0000"])
            let contacts = try await crm.contacts()
            #expect(contacts.count == 2)
            #expect(contacts.first { $0.id == ada.id }?.data["name"] == "Ada Lovelace", "the same contact id twice is one contact, unchanged")
            #expect(contacts.allSatisfy { $0.links.contains("lead:\(subject)") })

            // Actions follow the definition; a stale version is a conflict.
            #expect(try await crm.can("qualify"))
            let qualified = try await crm.apply("qualify")
            #expect(qualified.stage == "qualified" && qualified.version == 2)
            await #expect(throws: CrmKitError.self) { try await crm.apply("qualify") }
            do {
                try await crm.apply("convert", expectedVersion: 1)
                Issue.record("a stale expectedVersion was accepted")
            } catch let error as CrmKitError {
                #expect(error.code == "conflict")
            }

            // Converting makes an opportunity and a contact, linked; actions then go to the opportunity.
            try await crm.update(["name": "Ada's account", "email": "accounts@example.com"])
            let converted = try await crm.apply("convert")
            #expect(converted.stage == "open", "actions now apply to the opportunity")
            #expect(try await crm.lead().stage == "converted")
            let afterConversion = try await crm.contacts()
            #expect(afterConversion.count == 3)
            #expect(afterConversion.first { $0.id == subject }?.data["email"] == "accounts@example.com")
            let won = try await crm.apply("close_won")
            #expect(won.stage == "won")

            // Everything above is in the subject's history, rejections included.
            let expected = ["lead.created", "lead.stage_changed", "lead.converted", "opportunity.created", "opportunity.stage_changed"]
            let complete = try await eventually(timeout: historyTimeout) {
                let types = try await crm.history().map(\.type)
                return expected.allSatisfy(types.contains) && types.contains("command.rejected")
            }
            let history = try await crm.history()
            #expect(complete, "history: \(history.map(\.type))")
            #expect(history.filter { $0.type == "lead.stage_changed" }.compactMap { $0.payload["action"]?.stringValue } == ["qualify", "convert"])
            #expect(history.first?.type == "lead.created")
        }
    }

    /// The tenant's own lead definition (Level 2) that replaces the one in code: another stage, field
    /// rules and roles per action. The Level 1 code above runs unchanged on it.
    static let promoted = PipelineDefinition(
        entity: .lead, name: "Acme's own leads",
        stages: StandardPipelines.lead.stages + [StageDefinition(name: "nurture", label: "Nurture")],
        transitions: StandardPipelines.lead.transitions + [TransitionDefinition(action: "nurture", from: ["new", "contacted"], to: "nurture")],
        fields: [FieldRule(name: "name", type: .string), FieldRule(name: "email", type: .email), FieldRule(name: "score", type: .number, min: 0, max: 100)],
        permissions: ["convert": ["sales", "admin"], "qualify": ["sales"]])

    /// Promotes a tenant: a directory (an admin and the app's sales user) and its own definition.
    static func promote(_ engine: CrmEngine) async throws {
        let admin = engine.acting(as: "u-admin")
        try await admin.send(MessageType.directoryPutUser, ["userId": "u-admin", "roles": ["admin"]])
        try await admin.send(MessageType.directoryPutUser, ["userId": .string(engine.actor), "roles": ["sales"]])
        try await admin.send(MessageType.directoryPutUser, ["userId": "u-viewer", "roles": ["viewer"]])
        for definition in [promoted, StandardPipelines.opportunity] {
            try await admin.send(MessageType.definitionPublish, try JSONValue.parse(Array(try JSONEncoder().encode(definition))))
        }
    }

    /// What the promoted tenant's definition adds to the same code: roles decide.
    static func checkPromotedRules(_ engine: CrmEngine, subject: String) async throws {
        let viewer = Customer(id: "\(subject)-new").crm(in: engine.acting(as: "u-viewer"))
        #expect(try await viewer.can("qualify") == false)
        do {
            try await viewer.apply("qualify")
            Issue.record("a viewer qualified a lead")
        } catch let error as CrmKitError {
            #expect(error.code == "forbidden")
        }
        let stranger = Customer(id: "\(subject)-s").crm(in: engine.acting(as: "u-nobody"))
        await #expect(throws: CrmKitError.self) { try await stranger.addContact(["name": "X", "email": "x@example.com"]) }
        // Assignment and delegation through the same API, with the tenant's directory.
        let fresh = Customer(id: "\(subject)-new").crm(in: engine)
        let assigned = try await fresh.assign(to: "u-viewer")
        #expect(assigned.assignee == "u-viewer" && assigned.strategy == "manual")
        let away = Customer(id: "\(subject)-new").crm(in: engine.acting(as: "u-viewer"))
        try await away.delegateTo(engine.actor, until: Date().addingTimeInterval(7 * 86_400))
        let routed = try await fresh.assign(to: "u-viewer")
        #expect(routed.assignee == engine.actor && routed.chain == ["u-viewer", engine.actor], "the delegation routes new work")
        #expect(try await fresh.assignment()?.assignee == engine.actor)
        let lead = try await Customer(id: "\(subject)-new").crm(in: engine).lead()
        #expect(lead.definitionVersion == 1 && lead.stage == "new", "the tenant's own definition is the one the record started on")
        #expect(try await Customer(id: "\(subject)-new").crm(in: engine).can("qualify"))
    }
}

@Suite("CrmKit Level 1 (HasCrm): one suite, in-process and over the services")
struct Level1Tests {
    // FUN-CRM-0231, USE-CRM-0503: HasCrm on an app's model, contacts without migrations, in-process.
    @Test("in-process on the in-memory storage")
    func inProcess() async throws {
        try await Level1Suite.run(.inProcess(tenant: "app", actor: "u-app"), subject: "acct-1", historyTimeout: .seconds(1))
    }

    // BUS-CRM-0072, USE-CRM-0552: promoted to a database-driven definition, the same code.
    @Test("in-process after the tenant is promoted to its own definition and directory")
    func inProcessPromoted() async throws {
        let engine = CrmEngine.inProcess(tenant: "acme", actor: "u-app")
        try await Level1Suite.promote(engine)
        try await Level1Suite.run(engine, subject: "acct-2", historyTimeout: .seconds(1))
        try await Level1Suite.checkPromotedRules(engine, subject: "acct-2")
    }

    // FUN-CRM-0231, BUS-CRM-0072: the same suite over the real services, then promoted.
    @Test("over the real services (pipeline, assignment, audit), before and after promotion")
    func overServices() async throws {
        let deployment = try await Deployment()
        defer { Task { await deployment.stopAll() } }
        for binary in ["pipeline-service", "assignment-service", "audit-service", "sla-timer-service"] { try await deployment.start(binary) }
        let client = CrmClient(endpoint: try RedisEndpoint(url: deployment.server.url), shards: 4)
        try await Level1Suite.run(.services(client, tenant: "app", actor: "u-app"), subject: "acct-1", historyTimeout: .seconds(20))
        let promoted = CrmEngine.services(client, tenant: "acme", actor: "u-app")
        try await Level1Suite.promote(promoted)
        try await Level1Suite.run(promoted, subject: "acct-2", historyTimeout: .seconds(20))
        try await Level1Suite.checkPromotedRules(promoted, subject: "acct-2")

        // escalateAfter forwards to sla-timer-service: the record's history shows the escalation.
        let stale = Customer(id: "acct-3").crm(in: .services(client, tenant: "app", actor: "u-app"))
        try await stale.lead()
        let timer = try await stale.escalateAfter(.milliseconds(300), to: "sales_manager", reason: "no answer")
        #expect(timer.hasPrefix("esc-lead-acct-3-"))
        let escalated = try await eventually(timeout: .seconds(20)) { try await stale.history().contains { $0.type == "record.escalated" } }
        #expect(escalated)
        let entry = try await stale.history().first { $0.type == "record.escalated" }
        #expect(entry?.payload["to"] == "sales_manager" && entry?.payload["reason"] == "no answer")
        await #expect(throws: CrmKitError.self) { try await Customer(id: "x").crm(in: .inProcess(tenant: "app", actor: "u-app")).escalateAfter(.seconds(1)) }
        await client.close()
        await deployment.stopAll()
    }

    @Test("crm() outside an engine's scope says how to give it one")
    func noEngine() {
        #expect(throws: CrmKitError.noEngine) { try Customer(id: "x").crm() }
    }
}
