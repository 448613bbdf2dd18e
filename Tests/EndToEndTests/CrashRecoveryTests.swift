import Contracts
import Foundation
import RedisClient
import TestSupport
import Testing

@Suite("Crashes and shutdowns with the real pipeline-service", .serialized)
struct CrashRecoveryTests {
    static let total = 1500

    func leadCommands(_ count: Int) -> [Envelope] {
        (0..<count).map { index in
            Envelope(type: "lead.create", kind: .command, tenant: "acme", actor: "u-17", payload: ["leadId": .string("L-\(index)"), "data": ["name": .string("Lead \(index)"), "score": .integer(Int64(index % 100))]])
        }
    }

    func publishDefinition(_ deployment: Deployment) async throws {
        let result = try await deployment.crmctl(["publish", Deployment.examples.appendingPathComponent("01-definition.publish.json").path])
        #expect(result.status == 0, "\(result.output)")
    }

    func publishAll(_ commands: [Envelope], to deployment: Deployment) async throws {
        let stream = deployment.shard("acme").commands(.pipeline)
        for chunk in stride(from: 0, to: commands.count, by: 500) {
            let batch = commands[chunk..<min(chunk + 500, commands.count)].map { StreamCommands.xadd(stream, fields: [("envelope", $0.encoded())]) }
            _ = try await deployment.redis.pipeline(Array(batch))
        }
    }

    // REL-CRM-0403, REL-CRM-0409: a consumer killed mid-batch loses nothing and duplicates nothing.
    @Test("a consumer killed with SIGKILL mid-batch: another claims its entries, each handled exactly once in effect")
    func sigkillMidBatch() async throws {
        let deployment = try await Deployment()
        let tuning = ["CRM_CLAIM_IDLE_MS": "500", "CRM_BATCH_SIZE": "500"]
        let doomed = try await deployment.start("pipeline-service", consumer: "doomed", extra: tuning)
        try await publishDefinition(deployment)
        let commands = leadCommands(Self.total)
        try await publishAll(commands, to: deployment)
        let shard = deployment.shard("acme")
        // Kill it while it holds a batch it has read but not finished: freeze it, look, and kill it
        // only if it holds entries (else let it go on and look again).
        #expect(try await eventually(every: .milliseconds(2)) { try await deployment.redis.xlen(shard.events) >= 20 })
        var killedHolding = false
        for _ in 0..<500 where !killedHolding {
            doomed.signal(SIGSTOP)
            try await Task.sleep(for: .milliseconds(5))  // let Redis finish what the frozen process already sent
            let held = try await deployment.redis.xpending(shard.commands(.pipeline), group: "pipeline", count: 1, consumer: "doomed")
            if held.isEmpty {
                doomed.signal(SIGCONT)
                try await Task.sleep(for: .milliseconds(1))
            } else {
                doomed.signal(SIGKILL)
                killedHolding = true
            }
        }
        #expect(killedHolding)
        #expect(await doomed.waitForExit() == 128 + SIGKILL)
        let stranded = try await deployment.redis.xpending(shard.commands(.pipeline), group: "pipeline", count: 1000, consumer: "doomed")
        #expect(!stranded.isEmpty, "the kill landed mid-batch: the dead consumer held unacknowledged entries")

        try await deployment.start("pipeline-service", consumer: "survivor", extra: tuning)
        #expect(try await deployment.drained(shard.commands(.pipeline), timeout: .seconds(60)))
        let events = try await deployment.envelopes(shard.events)
        let created = events.filter { $0.type == "lead.created" }
        #expect(created.count == Self.total, "one lead.created per command")
        #expect(Set(created.compactMap { $0.payload["leadId"]?.stringValue }).count == Self.total)
        let outcomes = events.filter { $0.type == "command.accepted" }.compactMap { $0.payload["commandId"]?.stringValue }
        #expect(outcomes.count == Self.total + 1, "one outcome per command, none twice")
        #expect(Set(outcomes) == Set(commands.map(\.id)).union([outcomes.first!]))
        #expect(try await deployment.redis.xlen(shard.dlq) == 0)
        await deployment.stopAll()
    }

    @Test("SIGTERM: in-flight work finishes, nothing is left unacknowledged, exit status 0")
    func sigtermDrains() async throws {
        let deployment = try await Deployment()
        let service = try await deployment.start("pipeline-service", consumer: "graceful", extra: ["CRM_BATCH_SIZE": "200"])
        try await publishDefinition(deployment)
        try await publishAll(leadCommands(Self.total), to: deployment)
        let shard = deployment.shard("acme")
        #expect(try await eventually(every: .milliseconds(2)) { try await deployment.redis.xlen(shard.events) >= 20 })
        service.signal(SIGTERM)
        #expect(await service.waitForExit() == 0, "\(service.log)")
        #expect(service.log.contains("] stopped"))
        let group = try #require(try await deployment.redis.xinfoGroups(shard.commands(.pipeline)).first)
        #expect(group.pending == 0, "every entry read was handled and acknowledged")
        // Everything read before the stop has its outcome; the rest waits in the stream for the next consumer.
        let outcomes = try await deployment.envelopes(shard.events).filter { $0.type == "command.accepted" }.count
        #expect(outcomes == Self.total + 1 - (group.lag ?? -1))
        #expect((group.lag ?? 0) < Self.total, "the stop came mid-stream")
    }
}

@Suite("Redis restarts under the real services", .serialized)
struct RedisRestartTests {
    // REL-CRM-0409: the services reconnect by themselves, with backoff, and nothing accepted is lost (AOF always).
    @Test("redis-server SIGKILLed and restarted from its AOF: accepted work is kept and the services serve again")
    func servicesReconnect() async throws {
        let deployment = try await Deployment()
        let pipeline = try await deployment.start("pipeline-service")
        let audit = try await deployment.start("audit-service")
        for name in ["01-definition.publish.json", "04-lead.create.json"] {
            #expect(try await deployment.crmctl(["publish", Deployment.examples.appendingPathComponent(name).path]).status == 0)
        }
        let shard = deployment.shard("acme")
        #expect(try await deployment.drained(shard.events))
        let before = try await deployment.redis.xrange(shard.events)

        deployment.server.stop(hard: true)
        try await Task.sleep(for: .milliseconds(300))
        try await deployment.server.start()
        // The harness's own connection broke with the server: its next call reports that, retryable.
        await #expect(throws: RedisError.self) { try await deployment.redis.send("PING") }
        #expect(try await deployment.redis.xrange(shard.events) == before, "every acknowledged write survived")

        let next = Envelope(type: "lead.create", kind: .command, tenant: "acme", actor: "u-17", payload: ["leadId": "L-after-restart", "data": ["name": "After the restart"]])
        let result = try await deployment.crmctl(["publish", "--timeout", "20", "-"], input: Data(next.encoded()))
        #expect(result.status == 0, "\(result.output)\n\(pipeline.log.suffix(3000))")
        #expect(try await deployment.drained(shard.events, timeout: .seconds(30)))
        #expect(try await deployment.redis.xlen(shard.audit) == before.count + 2)
        #expect(pipeline.isRunning && audit.isRunning)
        let report = try await deployment.crmctl(["audit", "verify", "--shard", "\(shard.shard)"])
        #expect(report.status == 0, "\(report.output)")
        await deployment.stopAll()
    }
}
