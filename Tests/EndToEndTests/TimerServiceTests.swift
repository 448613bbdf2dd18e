import Contracts
import Foundation
import RedisClient
import TestSupport
import Testing

@Suite("sla-timer-service with the real binaries", .serialized)
struct TimerServiceTests {
    static let total = 3000

    /// Writes `count` timers due at `due` (ms) straight into the shard's timer keys, as a schedule
    /// command would: the test is about firing, and planting makes the due time independent of how
    /// fast a loaded machine handles commands.
    func plant(_ count: Int, due: Int64, shard: ShardKeys, redis: RedisConnection) async throws {
        for chunk in stride(from: 0, to: count, by: 1000) {
            var commands: [RedisCommand] = []
            for index in chunk..<min(chunk + 1000, count) {
                let member = "acme:T-\(index)"
                let json = "{\"actor\":\"u-17\",\"causationId\":\"c-\(index)\",\"correlationId\":\"c-\(index)\",\"dueAt\":\(due),"
                    + "\"scheduledAt\":\(due - 1000),\"status\":\"pending\",\"tenant\":\"acme\",\"timerId\":\"T-\(index)\"}"
                commands.append(RedisCommand("ZADD", [shard.timersDue, due, member]))
                commands.append(RedisCommand("HSET", [shard.timersData, member, json]))
            }
            _ = try await redis.pipeline(commands)
        }
    }

    // SEC-CRM-0425, FUN-CRM-0290: a consumer killed while it holds leases loses no timer and fires none twice.
    @Test("an sla-timer-service SIGKILLed while holding leases: its timers fire on the survivors, each exactly once, none early")
    func sigkillHoldingLeases() async throws {
        let deployment = try await Deployment()
        let tuning = ["CRM_TIMER_LEASE_MS": "1000", "CRM_TIMER_BATCH": "100"]
        let doomed = try await deployment.start("sla-timer-service", consumer: "doomed", extra: tuning)
        let shard = deployment.shard("acme")
        let due = Int64(Date().timeIntervalSince1970 * 1000) + 1000
        let dueText = Envelope.timestamp(Date(timeIntervalSince1970: Double(due) / 1000))
        try await plant(Self.total, due: due, shard: shard, redis: deployment.redis)

        // Freeze it at the moment it holds leases, and kill it then (else let it go on and look again).
        var killedHolding = false
        for _ in 0..<2000 where !killedHolding {
            doomed.signal(SIGSTOP)
            try await Task.sleep(for: .milliseconds(2))  // let Redis finish what the frozen process already sent
            if try await deployment.redis.send("ZCARD", shard.timersLeased).integer ?? 0 > 0 {
                doomed.signal(SIGKILL)
                killedHolding = true
            } else {
                doomed.signal(SIGCONT)
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        #expect(killedHolding, "the kill landed while the consumer held claimed, unfired timers")
        #expect(await doomed.waitForExit() == 128 + SIGKILL)
        let stranded = try await deployment.redis.send("ZCARD", shard.timersLeased).integer ?? 0
        #expect(stranded > 0)
        // The operator sees them: claimed under a lease nobody will complete, or overdue.
        let counted = try await deployment.crmctl(["timers", "--tenant", "acme", "--counts"])
        #expect(counted.status == 0, "\(counted.output)")
        #expect(counted.output.contains("\"firing\":\(stranded)"), "\(counted.output)")
        let listed = try await deployment.crmctl(["timers", "--tenant", "acme", "--limit", "5000"])
        #expect(listed.status == 0)
        #expect(listed.output.split(separator: "\n").filter { $0.contains("\"state\":\"firing\"") }.count == stranded, "\(listed.output.prefix(500))")

        for name in ["survivor-1", "survivor-2"] { try await deployment.start("sla-timer-service", consumer: name, extra: tuning) }
        func fired() async throws -> [Envelope] { try await deployment.envelopes(shard.events).filter { $0.type == "timer.fired" } }
        #expect(try await eventually(timeout: .seconds(30), every: .milliseconds(50)) { try await fired().count >= Self.total })
        try await Task.sleep(for: .milliseconds(1500))  // past another lease: a second firing would show now
        let events = try await fired()
        #expect(events.count == Self.total, "one timer.fired per timer (\(stranded) were stranded with the dead consumer)")
        #expect(Set(events.compactMap { $0.payload["timerId"]?.stringValue }).count == Self.total)
        #expect(events.allSatisfy { ($0.payload["firedAt"]?.stringValue ?? "") >= dueText }, "none early")
        #expect(try await deployment.redis.send("ZCARD", shard.timersLeased).integer == 0)
        #expect(try await deployment.redis.xlen(shard.dlq) == 0)

        // Cancel after firing is answered clearly through crmctl.
        let cancel = Envelope(type: "timer.cancel", kind: .command, tenant: "acme", actor: "u-17", payload: ["timerId": "T-0"])
        let result = try await deployment.crmctl(["publish", "-"], input: Data(cancel.encoded()))
        #expect(result.status == 1)
        #expect(result.output.contains("already_fired"), "\(result.output)")
        await deployment.stopAll()
    }
}

@Suite("SLA and escalation with the real binaries", .serialized)
struct SlaServiceTests {
    // FUN-CRM-0286, FUN-CRM-0285, SEC-CRM-0461: short real durations through the real services; every
    // event validates against its schema, and the record's audit history holds each SLA and escalation step.
    @Test("a lead under an SLA and escalation levels: started, at risk, breached, escalated; in its history; every event valid")
    func slaThroughTheServices() async throws {
        let deployment = try await Deployment()
        try await deployment.start("sla-timer-service")
        try await deployment.start("audit-service")
        let shard = deployment.shard("acme")
        // The definition as pipeline-service stores it once definition.publish carries `sla` and `escalation`.
        let definition: JSONValue = [
            "entity": "lead", "name": "Inbound", "transitions": [["action": "contact", "from": ["new"], "to": "contacted"]],
            "stages": [["name": "new", "initial": true], ["name": "contacted", "initial": false]], "fields": [], "permissions": [:],
            "sla": [["stage": "new", "name": "first_response", "within": "PT0.6S", "warnAt": 0.5, "onBreach": [["action": "notify", "to": "manager"]]]],
            "escalation": [["after": "PT0.4S", "action": "notify", "to": "owner"], ["after": "PT0.8S", "action": "reassign", "to": "manager"]],
        ]
        try await deployment.redis.send("HSET", shard.definitions(tenant: "acme", entity: "lead"), "v", 1, "d:1", definition.compactJSON)
        try await deployment.redis.send("HSET", shard.record(tenant: "acme", entity: "lead", id: "L-7"), "v", 1, "d",
                                        "{\"id\":\"L-7\",\"stage\":\"new\",\"definitionVersion\":1,\"data\":{},\"version\":1}")
        let created = Envelope(type: "lead.created", kind: .event, tenant: "acme", actor: "u-17",
                               payload: ["leadId": "L-7", "stage": "new", "definitionVersion": 1, "recordVersion": 1, "data": [:]])
        try await deployment.redis.xadd(shard.events, fields: [("envelope", created.encoded())])
        let expected = ["sla.started", "sla.at_risk", "sla.breached", "record.escalated", "record.escalated"]
        #expect(try await eventually(timeout: .seconds(10)) {
            try await deployment.envelopes(shard.events).filter { expected.contains($0.type) }.count == expected.count
        })
        #expect(try await deployment.drained(shard.events))
        let events = try await deployment.envelopes(shard.events)
        #expect(events.map(\.type).filter { $0 != "lead.created" }.sorted() == expected.sorted())

        let file = deployment.server.directory.appendingPathComponent("sla-events.jsonl")
        try events.map(\.json).joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let validation = try await Deployment.validateContracts([file.path])
        #expect(validation.status == 0, "\(validation.output)")

        let status = try await deployment.crmctl(["sla", "--tenant", "acme", "lead", "L-7"])
        #expect(status.status == 0, "\(status.output)")
        #expect(status.output.contains("\"status\":\"breached\""), "\(status.output)")
        #expect(try await deployment.crmctl(["sla", "--tenant", "acme", "--status", "breached"]).output.contains("\"record\":\"lead:L-7\""))
        #expect(try await deployment.crmctl(["sla", "--tenant", "acme", "--status", "on_track"]).output.isEmpty)
        #expect(try await deployment.crmctl(["sla", "--tenant", "acme", "lead", "L-404"]).status == 1)
        let history = try await deployment.crmctl(["history", "--tenant", "acme", "lead", "L-7"])
        #expect(history.status == 0, "\(history.output)")
        for type in expected { #expect(history.output.contains("\"type\":\"\(type)\""), "\(type) in the lead's history:\n\(history.output)") }
        await deployment.stopAll()
    }
}

@Suite("sla-timer-service as its least-privilege Redis user")
struct SlaAclTests {
    // SEC-CRM-0449: the shipped ACL user `sla` can do everything the service needs, scripts included.
    @Test("with deploy/users.acl: a timer scheduled through crmctl fires, with no permission error in the log")
    func firesAsSlaUser() async throws {
        let acl = ServiceProcess.packageRoot.appendingPathComponent("deploy/users.acl").path
        let server = try await RedisServerProcess(extraArguments: ["--aclfile", acl], adminUser: ("crmctl", "crmctl-dev-secret"))
        let logs = server.directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let service = try ServiceProcess("sla-timer-service", environment: [
            "CRM_REDIS_URL": server.url(user: "sla", password: "sla-dev-secret"), "CRM_CONSUMER": "sla-acl",
        ], logDirectory: logs)
        #expect(await service.waitForLog("] ready"), "\(service.log)")
        let schedule = Envelope(type: "timer.schedule", kind: .command, tenant: "acme", actor: "u-17", payload: ["timerId": "T-acl", "after": "PT0.2S"])
        let published = try await ServiceProcess.run("crmctl", arguments: ["publish", "-"], environment: ["CRM_REDIS_URL": server.url(user: "crmctl", password: "crmctl-dev-secret")],
                                                     input: Data(schedule.encoded()))
        #expect(published.status == 0, "\(published.output)")
        let redis = server.connection()
        let shard = ShardRouter(shards: 4).keys(forTenant: "acme")
        #expect(try await eventually(timeout: .seconds(5)) {
            try await redis.xrange(shard.events).contains { String(decoding: $0.field("envelope") ?? [], as: UTF8.self).contains("\"type\":\"timer.fired\"") }
        })
        service.signal(SIGTERM)
        #expect(await service.waitForExit() == 0)
        #expect(!service.log.contains("NOPERM"), "\(service.log)")
    }
}
