import Contracts
import CrmKit
import Foundation
import RedisClient
import TestSupport
import Testing

/// A small deterministic random source, so a failing seed can be run again.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `make chaos` (and its short form in `make test`): a mixed workload over 4 shards against the real
/// binaries (records, gateway campaigns, assignments, timers, webhook calls to a local receiver)
/// while services are SIGKILLed, a consumer is SIGSTOPped past the claim threshold, and
/// redis-server is SIGKILLed and restarted from its AOF; then the invariants are checked.
/// CRM_CHAOS_SEEDS (default 1) and CRM_CHAOS_LEADS per tenant (default 40) size it.
@Suite("chaos: faults injected into the real binaries, invariants checked", .serialized)
struct ChaosTests {
    static let environment = ProcessInfo.processInfo.environment
    static let seeds = Int(environment["CRM_CHAOS_SEEDS"] ?? "") ?? 1
    static let leadsPerTenant = Int(environment["CRM_CHAOS_LEADS"] ?? "") ?? 40

    // REL-CRM-0391, REL-CRM-0397, REL-CRM-0403: nothing lost, nothing applied twice, the audit complete.
    @Test("mixed workload under SIGKILL, SIGSTOP and a Redis crash: every command one outcome, no double effect, the audit chain complete")
    func chaos() async throws {
        for seed in 1...Self.seeds {
            let summary = try await run(seed: UInt64(seed))
            print("chaos seed \(seed): \(summary)")
        }
    }

    func run(seed: UInt64) async throws -> String {
        var random = SeededRandom(seed: seed)
        let deployment = try await Deployment()
        // Short leases, so work a killed process held is taken over within seconds.
        let env = ["CRM_CLAIM_IDLE_MS": "700", "CRM_BATCH_SIZE": "32", "CRM_INTEGRATION_LEASE_MS": "2500", "CRM_INTEGRATION_BACKOFF_MS": "100",
                   "CRM_TIMER_LEASE_MS": "1000"]
        var generation = 0
        func start(_ binary: String) async throws -> ServiceProcess {
            generation += 1
            return try await deployment.start(binary, consumer: "\(binary)-\(generation)", extra: env)
        }
        var running: [String: [ServiceProcess]] = [
            "pipeline-service": [try await start("pipeline-service"), try await start("pipeline-service")],
            "assignment-service": [try await start("assignment-service")],
            "audit-service": [try await start("audit-service")],
            "sla-timer-service": [try await start("sla-timer-service")],
            "integration-service": [try await start("integration-service")],
        ]
        let receiver = try await WebhookReceiver(secret: "whsec-chaos-0123456789")
        // One tenant per shard.
        var tenants: [String] = []
        for candidate in (0..<200).map({ "chaos\($0)" }) where !tenants.contains(where: { deployment.router.shard(forTenant: $0) == deployment.router.shard(forTenant: candidate) }) {
            tenants.append(candidate)
            if tenants.count == 4 { break }
        }
        let client = CrmClient(endpoint: try RedisEndpoint(url: deployment.server.url), shards: 4)
        for tenant in tenants {
            for (type, payload, actor) in setup(webhook: receiver.url) {
                let result = try await client.send(Envelope(type: type, kind: .command, tenant: tenant, actor: actor, payload: payload), timeout: .seconds(20))
                #expect(result.accepted, "setup \(type): \(result.outcome.payload)")
            }
        }
        await client.close()

        // The workload: per lead, in order, create → update → start a campaign → complete both branches;
        // then an assignment per lead. Interleaved across tenants, sent in chunks between faults.
        var commands: [Envelope] = []
        for index in 0..<Self.leadsPerTenant {
            for tenant in tenants {
                let lead = JSONValue.string("L-\(index)")
                func command(_ type: String, _ payload: JSONValue) -> Envelope { Envelope(type: type, kind: .command, tenant: tenant, actor: "boss", payload: payload) }
                commands += [
                    command("lead.create", ["leadId": lead, "data": ["score": .integer(Int64(index % 100))]]),
                    command("lead.update", ["leadId": lead, "data": ["score": .integer(Int64((index * 7) % 100))]]),
                    command("lead.apply", ["leadId": lead, "action": "start"]),
                    command("branch.complete", ["leadId": lead, "branch": "mail"]),
                    command("branch.complete", ["leadId": lead, "branch": "phone"]),
                    // A durable timer and a webhook call per lead, through their own services.
                    command("timer.schedule", ["timerId": .string("t-L-\(index)"), "after": "PT0.5S", "data": ["lead": lead]]),
                    command("integration.invoke", ["callId": .string("c-L-\(index)"), "integration": "hook", "input": ["lead": lead]]),
                ]
            }
        }
        for index in 0..<Self.leadsPerTenant {
            for tenant in tenants {
                commands.append(Envelope(type: "assignment.request", kind: .command, tenant: tenant, actor: "boss",
                                         payload: ["subject": .string("lead:L-\(index)"), "strategy": "round_robin", "team": "sales"]))
            }
        }
        var faults: [String] = []
        var redisRestarted = false
        var stopped = false
        let chunk = 60
        for start in stride(from: 0, to: commands.count, by: chunk) {
            let part = commands[start..<min(start + chunk, commands.count)]
            try await publish(Array(part), deployment)
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...150, using: &random)))
            switch Int.random(in: 0..<10, using: &random) {
            case 0, 1, 2:
                let binary = ["pipeline-service", "assignment-service", "audit-service", "sla-timer-service", "integration-service"].randomElement(using: &random)!
                let victim = running[binary]!.removeFirst()
                victim.signal(SIGKILL)
                _ = await victim.waitForExit()
                running[binary]!.append(try await self.startAgain(binary, deployment: deployment, start: start))
                faults.append("SIGKILL \(binary)")
            case 3 where !stopped:
                stopped = true
                let paused = running["pipeline-service"]![0]
                paused.signal(SIGSTOP)
                try await Task.sleep(for: .milliseconds(1500))
                paused.signal(SIGCONT)
                faults.append("SIGSTOP pipeline-service 1.5 s")
            case 4 where !redisRestarted && start > commands.count / 3:
                redisRestarted = true
                deployment.server.stop(hard: true)
                try await Task.sleep(for: .milliseconds(200))
                try await deployment.server.start()
                faults.append("SIGKILL redis-server, restart from AOF")
            default:
                break
            }
        }
        if !redisRestarted {
            deployment.server.stop(hard: true)
            try await deployment.server.start()
            faults.append("SIGKILL redis-server, restart from AOF")
        }

        // Let everything settle, then check the invariants.
        var settled = true
        for tenant in tenants {
            let shard = deployment.shard(tenant)
            for stream in [shard.commands(.pipeline), shard.commands(.assignment), shard.commands(.sla), shard.commands(.integration), shard.events] {
                if try await !drained(stream, deployment) { settled = false }
            }
        }
        #expect(settled, "every stream drained")
        var violations: [String] = []
        var outcomes = 0
        // Timers fire and calls finish after their commands were handled: wait for every one.
        let expected = Self.leadsPerTenant * tenants.count
        let finished = try await eventually(timeout: .seconds(90), every: .milliseconds(200)) {
            var fired = 0, succeeded = 0
            for tenant in tenants {
                let types = try await envelopes(deployment.shard(tenant).events, deployment).map(\.type)
                fired += types.count { $0 == "timer.fired" }
                succeeded += types.count { $0 == "integration.succeeded" }
            }
            return fired >= expected && succeeded >= expected
        }
        if !finished { violations.append("not every timer fired or call succeeded within 90 s") }
        for tenant in tenants {
            let shard = deployment.shard(tenant)
            if try await !drained(shard.events, deployment) { violations.append("\(tenant): events not drained") }
            let events = try await envelopes(shard.events, deployment)
            let mine = commands.filter { $0.tenant == tenant }
            let outcomeCount = StreamInvariants.outcomeCounts(events)
            for command in mine where outcomeCount[command.id] != 1 {
                violations.append("\(tenant) \(command.type) \(command.id): \(outcomeCount[command.id] ?? 0) outcomes")
            }
            outcomes += mine.count(where: { outcomeCount[$0.id] == 1 })
            violations += StreamInvariants.repeatedEffects(events, tenant: tenant)
            // Every lead whose branches both completed has joined.
            let leads = Set(events.filter { $0.type == "gateway.joined" }.compactMap { $0.payload["leadId"]?.stringValue })
            for index in 0..<Self.leadsPerTenant {
                let record = try await deployment.redis.send("HGET", shard.record(tenant: tenant, entity: "lead", id: "L-\(index)"), "d").string ?? ""
                if leads.contains("L-\(index)") != record.contains("\"stage\":\"done\"") { violations.append("\(tenant) L-\(index) joined but not at done") }
            }
            // The audit chain holds every event exactly once. (After an audit-service crash, entries
            // claimed from the dead consumer are appended after newer ones: the chain's order is its
            // own, not the events stream's.)
            let audited = try await envelopes(shard.audit, deployment).map(\.id)
            if audited.count != Set(audited).count || Set(audited) != Set(events.map(\.id)) {
                violations.append("\(tenant): audit holds \(Set(audited).count) distinct of \(audited.count) entries for \(events.count) events")
            }
            if try await deployment.redis.xlen(shard.dlq) > 0 { violations.append("\(tenant): \(try await deployment.redis.xlen(shard.dlq)) entries in the DLQ") }
        }
        let verify = try await deployment.crmctl(["audit", "verify"])
        if verify.status != 0 { violations.append("audit verify: \(verify.output)") }
        #expect(violations.isEmpty, "seed \(seed): \(violations.prefix(20))")
        await deployment.stopAll()
        return "\(commands.count) commands, \(outcomes) outcomes, faults [\(faults.joined(separator: ", "))], \(violations.count) violations"
    }

    func startAgain(_ binary: String, deployment: Deployment, start: Int) async throws -> ServiceProcess {
        try await deployment.start(binary, consumer: "\(binary)-r\(start)", extra: ["CRM_CLAIM_IDLE_MS": "700", "CRM_BATCH_SIZE": "32",
                                                                                    "CRM_INTEGRATION_LEASE_MS": "2500", "CRM_INTEGRATION_BACKOFF_MS": "100",
                                                                                    "CRM_TIMER_LEASE_MS": "1000"])
    }

    func setup(webhook: String) -> [(String, JSONValue, String)] {
        [
            ("directory.put_user", ["userId": "boss", "roles": ["admin"]], "boss"),
            ("directory.put_user", ["userId": "s1", "roles": ["sales"], "teams": ["sales"]], "boss"),
            ("directory.put_user", ["userId": "s2", "roles": ["sales"], "teams": ["sales"]], "boss"),
            ("integration.configure", ["integration": "hook", "kind": "webhook", "url": .string(webhook), "secret": "whsec-chaos-0123456789",
                                       "timeoutMs": 1000], "boss"),
            ("definition.publish", [
                "entity": "lead", "name": "Chaos", "fields": [["name": "score", "type": "number"]],
                "stages": [["name": "new", "initial": true], ["name": "campaign"], ["name": "done"], ["name": "won", "terminal": "won"]],
                "transitions": [["action": "start", "from": ["new"], "to": "campaign"], ["action": "win", "from": ["done"], "to": "won"]],
                "gateways": [["name": "outreach", "stage": "campaign", "kind": "parallel", "join": "done",
                              "branches": [["name": "mail", "steps": [["name": "send"]]], ["name": "phone", "steps": [["name": "call"]]]]]],
            ], "boss"),
        ]
    }

    /// XADDs in one round trip, again after a connection broken by the Redis restart.
    func publish(_ commands: [Envelope], _ deployment: Deployment) async throws {
        let batch = commands.map { StreamCommands.xadd(deployment.shard($0.tenant).commands(CommandRouting.stream(forType: $0.type)!), fields: [("envelope", $0.encoded())]) }
        for attempt in 1...50 {
            do {
                let connection = deployment.server.connection()
                _ = try await connection.pipeline(batch)
                await connection.close()
                return
            } catch where attempt < 50 {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    func drained(_ stream: String, _ deployment: Deployment) async throws -> Bool {
        try await eventually(timeout: .seconds(90), every: .milliseconds(100)) {
            let connection = deployment.server.connection()
            defer { Task { await connection.close() } }
            guard let groups = try? await connection.xinfoGroups(stream) else { return false }
            return !groups.isEmpty && groups.allSatisfy { $0.lag == 0 && $0.pending == 0 }
        }
    }

    func envelopes(_ stream: String, _ deployment: Deployment) async throws -> [Envelope] {
        let connection = deployment.server.connection()
        defer { Task { await connection.close() } }
        return try await connection.xrange(stream).map { try EnvelopeReader().read($0.field("envelope") ?? []) }
    }
}
