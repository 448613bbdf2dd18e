import Contracts
import Foundation
import RedisClient
import TestSupport
import Testing

@Suite("End to end with the real binaries", .serialized)
struct FirstPathTests {
    @Test("every file in contracts/v1 is a valid JSON Schema and every example validates")
    func contractsValidate() async throws {
        let result = try await Deployment.validateContracts()
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("0 failures"), "\(result.output)")
    }

    // FUN-CRM-0275, FUN-CRM-0276; the story of contracts/v1/examples published in order.
    @Test("crmctl publish of the example story: accepted, events on crm:{sN}:events, the same events in the audit chain")
    func exampleStory() async throws {
        let deployment = try await Deployment()
        try await deployment.start("pipeline-service")
        try await deployment.start("assignment-service")
        try await deployment.start("sla-timer-service")
        try await deployment.start("audit-service")
        try await deployment.start("integration-service")
        let commands = try FileManager.default.contentsOfDirectory(atPath: Deployment.examples.path).sorted().filter { name in
            guard let data = FileManager.default.contents(atPath: Deployment.examples.appendingPathComponent(name).path),
                  let envelope = try? EnvelopeReader().read(Array(data)) else { return false }
            return envelope.kind == .command
        }
        #expect(commands.count >= 2)
        for name in commands {
            let result = try await deployment.crmctl(["publish", Deployment.examples.appendingPathComponent(name).path])
            #expect(result.status == 0, "\(name): \(result.output)")
            let outcome = try EnvelopeReader().read(Array(result.output.utf8.filter { $0 != 10 }))
            #expect(outcome.type == "command.accepted", "\(name)")
        }
        let shard = deployment.shard("acme")
        // The approved approval (AP-7) sent its action to pipeline-service: let that finish too.
        #expect(try await deployment.drained(shard.commands(.pipeline)))
        let events = try await deployment.envelopes(shard.events)
        #expect(events.contains { $0.type == "lead.created" && $0.payload["leadId"] == "L-1001" })
        #expect(events.contains { $0.type == "opportunity.stage_changed" && $0.payload["action"] == "negotiate" && $0.actor == "u-21" },
                "the approved action was applied on the submitter's behalf")
        #expect(try await deployment.drained(shard.events))
        let audited = try await deployment.envelopes(shard.audit)
        #expect(audited.map(\.id) == events.map(\.id), "the audit trail holds every event, in order")

        // Every event the services wrote validates against its schema.
        let file = deployment.server.directory.appendingPathComponent("events.jsonl")
        try events.map(\.json).joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let validation = try await Deployment.validateContracts([file.path])
        #expect(validation.status == 0, "\(validation.output)")

        // The story ends with L-1001 qualified at version 3 (create, update, apply).
        let shown = try await deployment.crmctl(["show", "--tenant", "acme", "lead", "L-1001"])
        #expect(shown.status == 0)
        let lead = try JSONValue.parse(Array(shown.output.utf8))
        #expect(lead["stage"] == "qualified")
        #expect(lead["version"] == 3)
        #expect(try await deployment.crmctl(["show", "--tenant", "acme", "lead", "L-404"]).status == 1)
        let listed = try await deployment.crmctl(["list", "--tenant", "acme", "lead", "--stage", "qualified"])
        #expect(listed.status == 0)
        #expect(listed.output.split(separator: "\n").count == 1 && listed.output.contains("\"id\":\"L-1001\""), "\(listed.output)")
        #expect(try await deployment.crmctl(["list", "--tenant", "acme", "lead", "--stage", "won"]).output.isEmpty)
        // The interaction's attachment reads back byte for byte, and not once it is altered.
        let sha = "7e33cc56116751b05b802282bddc83d8da344c8a7b777c5f8acbd512e81bebf6"
        let attachment = try await deployment.crmctl(["attachment", "--tenant", "acme", sha])
        #expect(attachment.status == 0)
        #expect(attachment.output == "Budget confirmed: 30,000 GBP.\n")
        try await deployment.redis.send("HSET", shard.record(tenant: "acme", entity: "blob", id: sha), "d", "Budget confirmed: 300,000 GBP.\n")
        let altered = try await deployment.crmctl(["attachment", "--tenant", "acme", sha])
        #expect(altered.status == 1)
        #expect(altered.output.contains("checksum"), "\(altered.output)")
        // The story's definition lists no permissions: anyone may act (Level 1).
        let can = try await deployment.crmctl(["can", "--tenant", "acme", "--actor", "u-nobody", "close_won"])
        #expect(can.status == 0, "\(can.output)")

        let verify = try await deployment.crmctl(["audit", "verify"])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.contains("shard \(shard.shard): \(events.count) entries, chain intact"), "\(verify.output)")
        let tail = try await deployment.crmctl(["audit", "tail", "--json", "--tenant", "acme"])
        #expect(tail.status == 0)
        #expect(tail.output.split(separator: "\n").count == events.count)
        #expect(tail.output.contains("\"lead.created\""))

        // Tampering with one audited entry is caught.
        let first = try #require(try await deployment.redis.xrange(shard.audit, count: 1).first)
        try await deployment.redis.send("XDEL", shard.audit, first.id)
        let broken = try await deployment.crmctl(["audit", "verify"])
        #expect(broken.status == 1, "\(broken.output)")
        await deployment.stopAll()
    }

    @Test("malformed, oversized and unknown-version envelopes go to the DLQ with a reason, and the services keep serving")
    func badInputToDLQ() async throws {
        let deployment = try await Deployment()
        let pipeline = try await deployment.start("pipeline-service")
        try await deployment.start("audit-service")
        var unknownVersion = try EnvelopeReader().read(Array(try Data(contentsOf: Deployment.examples.appendingPathComponent("04-lead.create.json"))))
        unknownVersion.version = 99
        let bad: [(Data, String)] = [
            (Data("{\"id\": \"x\", ".utf8), "malformed_json"),
            (Data(repeating: UInt8(ascii: " "), count: (1 << 20) + 10), "too_large"),
            (Data(unknownVersion.encoded()), "unsupported_version"),
        ]
        for (bytes, _) in bad {
            let result = try await deployment.crmctl(["publish", "--raw", "--tenant", "acme", "-"], input: bytes)
            #expect(result.status == 0, "\(result.output)")
        }
        let shard = deployment.shard("acme")
        #expect(try await eventually { try await deployment.redis.xlen(shard.dlq) == 3 })
        let parked = try await deployment.redis.xrange(shard.dlq)
        #expect(parked.map { $0.string("reason") ?? "" } == bad.map(\.1))
        let listed = try await deployment.crmctl(["dlq", "list", "--tenant", "acme"])
        #expect(listed.output.contains("\"reason\":\"too_large\""), "\(listed.output)")

        // Replaying a parked entry moves it back to its stream; still unreadable, it is parked again.
        let first = parked[0]
        let replay = try await deployment.crmctl(["dlq", "replay", first.id, "--shard", "\(shard.shard)"])
        #expect(replay.status == 0, "\(replay.output)")
        #expect(replay.output.contains(shard.commands(.pipeline)), "\(replay.output)")
        #expect(try await eventually {
            let now = try await deployment.redis.xrange(shard.dlq)
            return !now.contains { $0.id == first.id } && now.count == 3 && now.last?.field("envelope") == first.field("envelope")
        }, "the replayed entry left the DLQ and came back as a new one")
        let refused = try await deployment.crmctl(["dlq", "replay", "0-1", "--shard", "\(shard.shard)"])
        #expect(refused.status != 0, "an unknown DLQ entry cannot be replayed")

        // Still serving: the story's commands are accepted afterwards.
        for name in ["01-definition.publish.json", "04-lead.create.json"] {
            let result = try await deployment.crmctl(["publish", Deployment.examples.appendingPathComponent(name).path])
            #expect(result.status == 0, "\(name): \(result.output)")
        }
        #expect(pipeline.isRunning)
        // A rejected command: crmctl exits 1 and prints the rejection.
        let rejected = Envelope(type: "lead.create", kind: .command, tenant: "acme", actor: "u-17", payload: ["leadId": "L-9", "definitionVersion": 7])
        let result = try await deployment.crmctl(["publish", "-"], input: Data(rejected.encoded()))
        #expect(result.status == 1, "\(result.output)")
        #expect(result.output.contains("\"code\":\"unknown_definition\""), "\(result.output)")
        await deployment.stopAll()
    }

    @Test("assignment, sla-timer and integration services join their groups, report ready and stop cleanly")
    func otherServicesStartAndStop() async throws {
        let deployment = try await Deployment()
        let started = [
            try await deployment.start("assignment-service"), try await deployment.start("sla-timer-service"),
            try await deployment.start("integration-service"),
        ]
        for (stream, group) in [(CommandStream.assignment, "assignment"), (.sla, "sla"), (.integration, "integration")] {
            for shard in deployment.router.allShards {
                let groups = try await deployment.redis.xinfoGroups(shard.commands(stream))
                #expect(groups.map(\.name) == [group], "\(shard.commands(stream))")
            }
        }
        #expect(try await eventually { (try await deployment.redis.send("KEYS", "crm:health:*").array?.count ?? 0) == 3 })
        let status = try await deployment.crmctl(["status"])
        #expect(status.output.contains("crm:{s0}:cmd:assignment"), "\(status.output)")
        #expect(status.output.contains("sla"), "\(status.output)")
        for service in started { service.signal(SIGTERM) }
        for service in started {
            #expect(await service.waitForExit() == 0, "\(service.name): \(service.log)")
            #expect(service.log.contains("] stopped"))
        }
        #expect(try await deployment.redis.send("KEYS", "crm:health:*").array?.isEmpty == true, "health keys removed on shutdown")
        let consumers = try await deployment.redis.send("XINFO", "CONSUMERS", deployment.router.allShards[0].commands(.sla), "sla")
        #expect(consumers.array?.isEmpty == true, "a consumer that stopped cleanly leaves its group")
    }
}
