import Contracts
import CrmCore
import CrmRedis
import Foundation
import Logging
import PipelineService
import RedisClient
import TestSupport
import Testing

/// Gateways and sagas decided by pipeline-service's logic on a real Redis: forks, joins exactly once
/// under concurrent completions, inclusive branches, routing, and compensation in reverse order.
@Suite("pipeline flows: gateways, routing and sagas")
struct FlowTests {
    let fixture: ConsumerFixture
    let pipeline: PipelineCommands
    let tenant = "acme"

    init() async throws {
        fixture = try await ConsumerFixture()
        pipeline = PipelineCommands(storage: RedisCrmStorage(pool: fixture.pool), logger: Logger(label: "test"))
    }

    var shard: ShardKeys { fixture.router.keys(forTenant: tenant) }

    @discardableResult
    func send(_ type: String, _ payload: JSONValue, id: String = Envelope.newID(), using commands: PipelineCommands? = nil) async throws -> Envelope {
        let command = Envelope(id: id, type: type, kind: .command, tenant: tenant, actor: "u-1", payload: payload)
        switch try await (commands ?? pipeline).execute(command, shard: shard) {
        case .decided(let outcome): return outcome
        case .replayed(let bytes): return try EnvelopeReader().read(bytes)
        case .silent: throw TestHarnessError.timedOut("an outcome")
        }
    }

    func accepted(_ type: String, _ payload: JSONValue) async throws {
        let outcome = try await send(type, payload)
        #expect(outcome.type == "command.accepted", "\(type): \(outcome.payload)")
    }

    /// An integration result, as integration-service would write it.
    func result(_ type: String, saga: String, step: Int, lead: String, extra: [String: JSONValue] = [:]) async throws {
        let event = Envelope(type: type, kind: .event, tenant: tenant, actor: "u-1",
                             payload: .object(["callId": .string("\(saga)-\(step)"), "integration": "webhook", "sagaId": .string(saga), "step": .integer(Int64(step)),
                                               "subject": .string("lead:\(lead)"), "attempts": 1].merging(extra) { $1 }))
        _ = try await pipeline.execute(event, shard: shard)
    }

    func events(_ type: String? = nil) async throws -> [Envelope] {
        try await fixture.redis.xrange(shard.events).map { try EnvelopeReader().read($0.field("envelope") ?? []) }.filter { type == nil || $0.type == type }
    }

    func calls() async throws -> [Envelope] {
        try await fixture.redis.xrange(shard.commands(.integration)).map { try EnvelopeReader().read($0.field("envelope") ?? []) }
    }

    func record(_ id: String) async throws -> PipelineRecord {
        try CrmStore.decode(PipelineRecord.self, try #require(try await fixture.redis.send("HGET", shard.record(tenant: tenant, entity: "lead", id: id), "d").bytes))
    }

    func publish(gateway: JSONValue, extraStages: [JSONValue] = [], transitions: [JSONValue] = []) async throws {
        try await accepted("definition.publish", .object([
            "entity": "lead", "name": "Campaigns", "fields": [["name": "score", "type": "number"], ["name": "region", "type": "string"], ["name": "email", "type": "string"]],
            "stages": .array([["name": "new", "initial": true], ["name": "campaign"], ["name": "done"], ["name": "won", "terminal": "won"]] + extraStages),
            "transitions": .array([["action": "start", "from": ["new"], "to": "campaign"], ["action": "close_won", "from": ["done"], "to": "won"]] + transitions),
            "gateways": [gateway],
        ]))
    }

    // FUN-CRM-0226, REL-CRM-0397: a parallel gateway joins exactly once, whatever the order and concurrency.
    @Test("parallel: 10 branches completed at once by 3 deciders, 12 times: one join each, every completion recorded, replays not counted")
    func parallelJoin() async throws {
        let branches: [JSONValue] = (0..<10).map { ["name": .string("b\($0)"), "steps": [["name": "touch"]]] }
        try await publish(gateway: ["name": "blast", "stage": "campaign", "kind": "parallel", "join": "done", "branches": .array(branches)])
        let deciders = (0..<3).map { _ in PipelineCommands(storage: RedisCrmStorage(pool: fixture.pool), logger: Logger(label: "test")) }
        for round in 0..<12 {
            let lead = "L-\(round)"
            try await accepted("lead.create", ["leadId": .string(lead)])
            try await accepted("lead.apply", ["leadId": .string(lead), "action": "start"])
            let ids = (0..<10).map { _ in Envelope.newID() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for branch in (0..<10).shuffled() {
                    group.addTask {
                        let outcome = try await send("branch.complete", ["leadId": .string(lead), "branch": .string("b\(branch)"), "step": "touch"], id: ids[branch],
                                                     using: deciders[branch % 3])
                        #expect(outcome.type == "command.accepted", "\(outcome.payload)")
                    }
                }
                try await group.waitForAll()
            }
            // A completion delivered again (same id) is answered from the first outcome and counts nothing.
            try await send("branch.complete", ["leadId": .string(lead), "branch": "b3", "step": "touch"], id: ids[3])
            let mine = try await events().filter { $0.payload["leadId"]?.stringValue == lead }
            #expect(mine.filter { $0.type == "gateway.joined" }.count == 1, "round \(round)")
            #expect(Set(mine.filter { $0.type == "branch.completed" }.compactMap { $0.payload["branch"]?.stringValue }).count == 10)
            #expect(mine.filter { $0.type == "branch.completed" }.count == 10)
            let stored = try await record(lead)
            #expect(stored.stage == "done" && stored.flow == nil)
        }
        #expect(try await send("branch.complete", ["leadId": "L-0", "branch": "b0"]).payload["code"] == "invalid_transition", "no campaign runs any more")
    }

    // FUN-CRM-0226: an inclusive gateway starts the branches whose conditions hold and waits for those.
    @Test("inclusive: 0 (default), 1, some and all branches start; the join waits for exactly those")
    func inclusive() async throws {
        try await publish(gateway: ["name": "follow", "stage": "campaign", "kind": "inclusive", "join": "done", "branches": [
            ["name": "hot", "when": "data.score > 80", "steps": [["name": "call"]]],
            ["name": "emea", "when": "data.region == 'emea'", "steps": [["name": "visit"]]],
            ["name": "mail", "when": "data.email != null", "steps": [["name": "send"]]],
            ["name": "nurture", "default": true, "steps": [["name": "wait"]]],
        ]])
        let cases: [(String, JSONValue, [String])] = [
            ("L-none", ["score": 10], ["nurture"]),
            ("L-one", ["score": 90], ["hot"]),
            ("L-some", ["score": 90, "region": "emea"], ["hot", "emea"]),
            ("L-all", ["score": 81, "region": "emea", "email": "a@b.c"], ["hot", "emea", "mail"]),
        ]
        for (lead, data, expected) in cases {
            try await accepted("lead.create", ["leadId": .string(lead), "data": data])
            try await accepted("lead.apply", ["leadId": .string(lead), "action": "start"])
            let forked = try await events("gateway.forked").last
            #expect(forked?.payload["branches"] == .array(expected.map(JSONValue.string)), "\(lead)")
            for (index, branch) in expected.enumerated() {
                #expect(try await record(lead).stage == "campaign", "\(lead) waits for \(branch)")
                let step = ["hot": "call", "emea": "visit", "mail": "send", "nurture": "wait"][branch]!
                try await accepted("branch.complete", ["leadId": .string(lead), "branch": .string(branch), "step": .string(step)])
                if index == expected.count - 1 { #expect(try await record(lead).stage == "done", "\(lead) joined") }
            }
        }
        #expect(try await send("branch.complete", ["leadId": "L-one", "branch": "emea"]).payload["code"] != nil)
    }

    // FUN-CRM-0233: conditional routing when data changes, boundaries included.
    @Test("routing: score updates route by the definition, boundary values included")
    func routing() async throws {
        try await publish(gateway: ["name": "g", "stage": "campaign", "kind": "parallel", "join": "done", "branches": [["name": "a", "steps": [["name": "s"]]]]],
                          extraStages: [["name": "qualified"], ["name": "nurture"]],
                          transitions: [["action": "route", "from": ["new"], "to": "qualified", "condition": "data.score > 50", "auto": true],
                                        ["action": "route", "from": ["new"], "to": "nurture", "condition": "data.score <= 50", "auto": true],
                                        ["action": "close_won", "from": ["qualified"], "to": "won"], ["action": "close_won", "from": ["nurture"], "to": "won"]])
        try await accepted("lead.create", ["leadId": "L-blank"])
        #expect(try await record("L-blank").stage == "new", "no score: no route holds")
        try await accepted("lead.update", ["leadId": "L-blank", "data": ["score": 50]])
        #expect(try await record("L-blank").stage == "nurture", "50 is not > 50")
        try await accepted("lead.create", ["leadId": "L-edge", "data": ["score": 51]])
        let edge = try await record("L-edge")
        #expect(edge.stage == "qualified" && edge.version == 1, "routed at creation, one version")
        let routed = try await events("lead.stage_changed").last
        #expect(routed?.payload["automatic"] == true && routed?.payload["action"] == "route")
    }

    // FUN-CRM-0241, REL-CRM-0402: a failed step compensates the completed ones in reverse order, each until it succeeds.
    @Test("saga: step 4 of 5 fails → steps 3, 2, 1 compensated in that order, a failing compensation retried, the record back in its stage")
    func saga() async throws {
        let steps: [JSONValue] = (1...5).map { ["name": .string("s\($0)"), "integration": "webhook", "input": ["n": .integer(Int64($0))],
                                                 "compensate": ["integration": "webhook", "input": ["undo": .integer(Int64($0))]]] }
        try await publish(gateway: ["name": "drip", "stage": "campaign", "kind": "parallel", "join": "done", "branches": [["name": "mail", "steps": .array(steps)]]])
        try await accepted("lead.create", ["leadId": "L-s"])
        try await accepted("lead.apply", ["leadId": "L-s", "action": "start"])
        let saga = try #require(try await record("L-s").flow?.runId)
        #expect(try await calls().map(\.type) == ["integration.invoke"], "the first step's call went out with the fork")
        #expect(try await calls().first?.payload["callId"] == .string("\(saga)-0"))
        for step in 0..<3 { try await result("integration.succeeded", saga: saga, step: step, lead: "L-s") }
        try await result("integration.succeeded", saga: saga, step: 1, lead: "L-s")   // a late duplicate: ignored
        #expect(try await calls().filter { $0.type == "integration.invoke" }.count == 4)
        try await result("integration.failed", saga: saga, step: 3, lead: "L-s", extra: ["operation": "invoke", "reason": "HTTP 400", "permanent": true])
        var compensations: [Int] = []
        func lastCompensation() async throws -> Int {
            let call = try #require(try await calls().last { $0.type == "integration.compensate" })
            return Int(call.payload["step"]?.doubleValue ?? -1)
        }
        let first = try await lastCompensation()
        compensations.append(first)
        try await result("integration.compensated", saga: saga, step: first, lead: "L-s")
        let second = try await lastCompensation()
        compensations.append(second)
        // The second compensation fails twice, then succeeds: sent again each time, never skipped.
        for _ in 0..<2 { try await result("integration.failed", saga: saga, step: second, lead: "L-s", extra: ["operation": "compensate", "reason": "503"]) }
        #expect(try await calls().filter { $0.type == "integration.compensate" && $0.payload["step"] == .integer(Int64(second)) }.count == 3)
        try await result("integration.compensated", saga: saga, step: second, lead: "L-s")
        let third = try await lastCompensation()
        compensations.append(third)
        #expect(try await record("L-s").stage == "campaign", "not back before the last compensation")
        try await result("integration.compensated", saga: saga, step: third, lead: "L-s")
        try await result("integration.compensated", saga: saga, step: third, lead: "L-s")   // delivered again: nothing twice
        #expect(compensations == [2, 1, 0], "reverse order of completion")
        let stored = try await record("L-s")
        #expect(stored.stage == "new" && stored.flow == nil)
        let (compensating, compensated) = (try await events("saga.compensating").count, try await events("saga.compensated").count)
        #expect(compensating == 1 && compensated == 1)
        #expect(try await events("lead.stage_changed").last?.payload["action"] == "rollback")
        let compensate = try #require(try await calls().first { $0.type == "integration.compensate" })
        #expect(compensate.payload["input"] == ["undo": 3] && compensate.payload["sagaId"] == .string(saga))
    }

    @Test("saga.abort rolls back a running campaign; actions wait while one runs")
    func abort() async throws {
        try await publish(gateway: ["name": "g", "stage": "campaign", "kind": "parallel", "join": "done", "branches": [
            ["name": "a", "steps": [["name": "x"], ["name": "y"]]], ["name": "b", "steps": [["name": "z"]]],
        ]])
        try await accepted("lead.create", ["leadId": "L-a"])
        try await accepted("lead.apply", ["leadId": "L-a", "action": "start"])
        #expect(try await send("lead.apply", ["leadId": "L-a", "action": "start"]).payload["code"] == "invalid_transition")
        try await accepted("branch.complete", ["leadId": "L-a", "branch": "a", "step": "x"])
        #expect(try await send("branch.complete", ["leadId": "L-a", "branch": "a", "step": "z"]).payload["code"] == "invalid_transition")
        #expect(try await send("branch.complete", ["leadId": "L-a", "branch": "nope"]).payload["code"] == "not_found")
        try await accepted("saga.abort", ["leadId": "L-a", "reason": "customer asked"])
        #expect(try await record("L-a").stage == "new")
        #expect(try await send("saga.abort", ["leadId": "L-a"]).payload["code"] == "invalid_transition")
        #expect(try await send("saga.abort", ["leadId": "L-a", "opportunityId": "O-1"]).payload["code"] == "invalid_payload")
    }

    // FUN-CRM-0221: extension points — a registered trigger starts a transition from an event pattern.
    @Test("a registered trigger turns a matching event into an action on the record, through the definition's rules")
    func trigger() async throws {
        var extensions = ExtensionRegistry()
        extensions.trigger("engage_on_assignment", on: "record.assigned") { event in
            guard case .string(let subject)? = event.fields["subject"], subject.hasPrefix("lead:") else { return nil }
            return TriggerAction(entity: .lead, id: String(subject.dropFirst(5)), action: "start")
        }
        let triggered = PipelineCommands(storage: RedisCrmStorage(pool: fixture.pool), extensions: extensions, logger: Logger(label: "test"))
        try await publish(gateway: ["name": "g", "stage": "campaign", "kind": "parallel", "join": "done", "branches": [["name": "a", "steps": [["name": "s"]]]]])
        try await accepted("lead.create", ["leadId": "L-t"])
        let assigned = Envelope(type: "record.assigned", kind: .event, tenant: tenant, actor: "u-9",
                                payload: ["subject": "lead:L-t", "assignee": "u-2", "chosen": "u-2", "strategy": "manual", "delegationChain": ["u-2"], "assignmentVersion": 1])
        #expect(try await triggered.execute(assigned, shard: shard).isSilent)
        let sent = try await fixture.redis.xrange(shard.commands(.pipeline)).map { try EnvelopeReader().read($0.field("envelope") ?? []) }
        #expect(sent.count == 1 && sent[0].type == "lead.apply" && sent[0].actor == "u-9" && sent[0].causationId == assigned.id)
        _ = try await triggered.execute(sent[0], shard: shard)
        #expect(try await record("L-t").stage == "campaign", "the trigger's action went through the definition and forked its gateway")
        let other = Envelope(type: "record.assigned", kind: .event, tenant: tenant, actor: "u-9", payload: ["subject": "opportunity:O-1"])
        _ = try await triggered.execute(other, shard: shard)
        #expect(try await fixture.redis.xlen(shard.commands(.pipeline)) == 1, "no action for an event the trigger does not match")
    }

    // FUN-CRM-0263: a breach's notify action goes out through integration-service.
    @Test("sla.breached with notify actions and a notify escalation send calls to the tenant's notify integration, once per event")
    func breachNotifies() async throws {
        let breach = Envelope(type: "sla.breached", kind: .event, tenant: tenant, actor: "system", payload: [
            "subject": "lead:L-1", "sla": "first_response", "actions": [["action": "notify", "to": "owner"], ["action": "reassign", "to": "sales"], ["action": "notify", "to": "manager"]],
        ])
        #expect(try await pipeline.execute(breach, shard: shard).isSilent)
        _ = try await pipeline.execute(breach, shard: shard)   // delivered again
        let escalation = Envelope(type: "record.escalated", kind: .event, tenant: tenant, actor: "system", payload: ["subject": "lead:L-2", "action": "notify", "to": "director"])
        _ = try await pipeline.execute(escalation, shard: shard)
        let sent = try await calls()
        #expect(sent.map { $0.payload["input"]?["to"]?.stringValue ?? "" } == ["owner", "manager", "director"])
        #expect(sent.allSatisfy { $0.type == "integration.invoke" && $0.payload["integration"] == "notify" })
        #expect(sent[0].payload["subject"] == "lead:L-1" && sent[0].causationId == breach.id)
    }
}
