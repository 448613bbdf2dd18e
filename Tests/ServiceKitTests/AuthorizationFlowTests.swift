import AssignmentService
import Contracts
import Foundation
import Logging
import PipelineService
import RedisClient
import ServiceKit
import TestSupport
import Testing

/// SEC-CRM-0467, SEC-CRM-0437, SEC-CRM-0449: roles come from the tenant's directory, every command is
/// authorized before it changes anything, and a forbidden one writes nothing.
@Suite("Directory and RBAC across assignment-service and pipeline-service")
struct AuthorizationFlowTests {
    let fixture: ConsumerFixture
    let pipeline: PipelineHandler
    let assignment: AssignmentHandler

    init() async throws {
        fixture = try await ConsumerFixture()
        let context = ServiceContext(name: "test", options: try ServiceOptions.fromEnvironment(), pool: fixture.pool, router: fixture.router, logger: Logger(label: "test"))
        pipeline = PipelineHandler(context: context)
        assignment = AssignmentHandler(context: context)
    }

    func command(_ type: String, by actor: String, _ payload: JSONValue, tenant: String = "acme") -> Envelope {
        Envelope(type: type, kind: .command, tenant: tenant, actor: actor, payload: payload)
    }

    /// Runs one command through its service and returns the outcome.
    func send(_ envelope: Envelope) async throws -> Envelope {
        let stream: CommandStream = envelope.type.hasPrefix("directory.") ? .assignment : .pipeline
        let handler: any MessageHandler = stream == .assignment ? assignment : pipeline
        let shard = fixture.router.keys(forTenant: envelope.tenant)
        try await fixture.redis.xadd(shard.commands(stream), fields: [("envelope", envelope.encoded())])
        let consumer = fixture.consumer(handler, name: "c-\(stream.rawValue)")
        return try await running(consumer) {
            let reply = try await eventually { try await fixture.redis.send("LLEN", shard.reply(commandID: envelope.id)).integer == 1 }
            #expect(reply, "no outcome for \(envelope.type)")
            return try EnvelopeReader().read(try #require(try await fixture.redis.send("LPOP", shard.reply(commandID: envelope.id)).bytes))
        }
    }

    func expect(_ envelope: Envelope, _ code: String?, _ comment: Comment? = nil) async throws {
        let result = try await send(envelope)
        if let code {
            #expect(result.type == "command.rejected", comment)
            #expect(result.payload["code"]?.stringValue == code, comment)
        } else {
            #expect(result.type == "command.accepted", "\(result.payload)")
        }
    }

    @Test("bootstrap an admin, then only admins change the directory and definitions; actions need their roles")
    func flow() async throws {
        try await expect(command("directory.put_user", by: "u-1", ["userId": "u-1", "roles": ["sales"]], tenant: "globex"), "invalid_payload",
                         "the first user of a tenant must be an admin")
        try await expect(command("directory.put_user", by: "u-admin", ["userId": "u-admin", "roles": ["admin"]]), nil)
        try await expect(command("directory.put_user", by: "u-rep", ["userId": "u-rep", "roles": ["admin"]]), "forbidden",
                         "once a directory exists, only admins change it")
        try await expect(command("directory.put_user", by: "u-admin", ["userId": "u-rep", "roles": ["sales"]]), nil)
        try await expect(command("directory.put_user", by: "u-admin", ["userId": "u-viewer", "roles": ["viewer"]]), nil)

        let definition: JSONValue = [
            "entity": "lead", "name": "Guarded",
            "stages": [["name": "new", "initial": true], ["name": "qualified"]],
            "transitions": [["action": "qualify", "from": ["new"], "to": "qualified"]],
            "permissions": ["create": ["sales", "admin"], "qualify": ["manager"]],
        ]
        try await expect(command("definition.publish", by: "u-rep", definition), "forbidden", "definitions need an admin")
        try await expect(command("definition.publish", by: "u-admin", definition), nil)

        try await expect(command("lead.create", by: "u-viewer", ["leadId": "L-1"]), "forbidden", "viewer lacks create")
        try await expect(command("lead.create", by: "u-stranger", ["leadId": "L-1"]), "forbidden", "unknown actors are forbidden")
        let record = fixture.shard.record(tenant: "acme", entity: "lead", id: "L-1")
        #expect(try await fixture.redis.send("EXISTS", record).integer == 0, "a forbidden command writes nothing")
        try await expect(command("lead.create", by: "u-rep", ["leadId": "L-1"]), nil)
        try await expect(command("lead.apply", by: "u-rep", ["leadId": "L-1", "action": "qualify"]), "forbidden", "qualify needs a manager")
        try await expect(command("lead.update", by: "u-rep", ["leadId": "L-1", "data": ["note": "called"]]), nil)
        try await expect(command("directory.put_user", by: "u-admin", ["userId": "u-rep", "roles": ["sales", "manager"]]), nil)
        try await expect(command("lead.apply", by: "u-rep", ["leadId": "L-1", "action": "qualify"]), nil, "the new role counts at once")
        // A message cannot grant itself roles: unknown payload fields are refused, roles are read from the directory.
        try await expect(command("lead.update", by: "u-viewer", ["leadId": "L-1", "data": ["x": 1], "roles": ["admin"]]), "invalid_payload")
    }
}
