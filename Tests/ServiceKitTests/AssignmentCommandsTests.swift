import AssignmentService
import Contracts
import CrmCore
import CrmRedis
import Foundation
import Logging
import PipelineService
import RedisClient
import TestSupport
import Testing

/// assignment-service's decisions on a real Redis: strategies, delegation, approvals and how the
/// pipeline reacts to them.
@Suite("assignment-service: strategies, delegation, approvals")
struct AssignmentCommandsTests {
    let fixture: ConsumerFixture
    let assignment: AssignmentCommands
    let pipeline: PipelineCommands
    let tenant = "acme"

    init() async throws {
        fixture = try await ConsumerFixture()
        let storage = RedisCrmStorage(pool: fixture.pool)
        var strategies = AssignmentStrategyRegistry()
        strategies.strategy("last_in_team") { $0.users.last }
        assignment = AssignmentCommands(storage: storage, logger: Logger(label: "test"), strategies: strategies)
        pipeline = PipelineCommands(storage: storage, logger: Logger(label: "test"))
    }

    var shard: ShardKeys { fixture.router.keys(forTenant: tenant) }

    @discardableResult
    func send(_ type: String, _ payload: JSONValue, actor: String = "boss", tenant: String? = nil, at time: String = Envelope.timestamp()) async throws -> Envelope {
        let command = Envelope(type: type, kind: .command, tenant: tenant ?? self.tenant, actor: actor, occurredAt: time, payload: payload)
        let shard = fixture.router.keys(forTenant: command.tenant)
        let outcome = AssignmentCommands.types.contains(type) ? try await assignment.execute(command, shard: shard) : try await pipeline.execute(command, shard: shard)
        switch outcome {
        case .decided(let envelope): return envelope
        case .replayed(let bytes): return try EnvelopeReader().read(bytes)
        case .silent: throw TestHarnessError.timedOut("an outcome, got a silent reaction")
        }
    }

    func accepted(_ type: String, _ payload: JSONValue, actor: String = "boss", at time: String = Envelope.timestamp()) async throws -> Envelope {
        let outcome = try await send(type, payload, actor: actor, at: time)
        #expect(outcome.type == "command.accepted", "\(type) \(payload): \(outcome.payload)")
        return outcome
    }

    func rejection(_ type: String, _ payload: JSONValue, actor: String = "boss", tenant: String? = nil, at time: String = Envelope.timestamp()) async throws -> String? {
        let outcome = try await send(type, payload, actor: actor, tenant: tenant, at: time)
        #expect(outcome.type == "command.rejected", "\(type) \(payload) was accepted")
        return outcome.payload["code"]?.stringValue
    }

    func events(_ type: String) async throws -> [Envelope] {
        try await fixture.redis.xrange(shard.events).map { try EnvelopeReader().read($0.field("envelope") ?? []) }.filter { $0.type == type }
    }

    /// boss (admin), u1…u7 in team sales, m in team emea; a lead pipeline whose close_won needs an approval.
    func setUp(leads: Int) async throws {
        try await accepted("directory.put_user", ["userId": "boss", "roles": ["admin"]])
        for index in 1...7 { try await accepted("directory.put_user", ["userId": .string("u\(index)"), "roles": ["sales"], "teams": ["sales"]]) }
        try await accepted("directory.put_user", ["userId": "m", "roles": ["manager"], "teams": ["emea"]])
        try await accepted("directory.put_user", ["userId": "gone", "roles": ["sales"], "teams": ["sales"], "active": false])
        try await accepted("definition.publish", [
            "entity": "lead", "name": "Leads", "fields": [["name": "region", "type": "string"]],
            "stages": [["name": "new", "initial": true], ["name": "won", "terminal": "won"], ["name": "lost", "terminal": "lost"]],
            "transitions": [["action": "close_won", "from": ["new"], "to": "won", "approval": true], ["action": "close_lost", "from": ["new"], "to": "lost"],
                            ["action": "reopen", "from": ["won", "lost"], "to": "new"]],
        ])
        for index in 1...leads {
            try await accepted("lead.create", ["leadId": .string("L-\(index)"), "data": ["region": index % 2 == 0 ? "emea" : "apac"]])
        }
    }

    func openCount(_ user: String) async throws -> Int {
        Int(try await fixture.redis.send("HGET", shard.queue(tenant: tenant, user: user), "n").string ?? "0") ?? 0
    }

    // FUN-CRM-0244, USE-CRM-0520: round-robin, least-loaded, manual, territory and custom strategies.
    @Test("strategies: round-robin turns, least-loaded minimum, manual, territory rules, custom; queues follow")
    func strategies() async throws {
        try await setUp(leads: 20)
        for index in 1...14 { try await accepted("assignment.request", ["subject": .string("lead:L-\(index)"), "strategy": "round_robin", "team": "sales"]) }
        let assigned = try await events("record.assigned")
        let counts = Dictionary(grouping: assigned, by: { $0.payload["assignee"]?.stringValue ?? "" }).mapValues(\.count)
        #expect(counts == ["u1": 2, "u2": 2, "u3": 2, "u4": 2, "u5": 2, "u6": 2, "u7": 2], "each active user twice, 'gone' skipped")
        #expect(assigned.first?.payload["strategy"] == "round_robin" && assigned.first?.payload["delegationChain"] == ["u1"])
        #expect(try await openCount("u1") == 2)

        // Closing a record takes it off its assignee's open count, reopening puts it back.
        try await accepted("lead.apply", ["leadId": "L-1", "action": "close_lost"])
        try await accepted("lead.apply", ["leadId": "L-8", "action": "close_lost"])
        #expect(try await openCount("u1") == 0, "L-1 and L-8 went to u1 and are closed")
        try await accepted("lead.apply", ["leadId": "L-8", "action": "reopen"])
        #expect(try await openCount("u1") == 1)
        try await accepted("lead.apply", ["leadId": "L-8", "action": "close_lost"])
        let least = try await accepted("assignment.request", ["subject": "lead:L-15", "strategy": "least_loaded", "team": "sales"])
        #expect(least.payload["recordId"] == "L-15")
        #expect(try await events("record.assigned").last?.payload["assignee"] == "u1", "u1 has no open record left")

        // Reassigning moves the record between queues.
        try await accepted("assignment.request", ["subject": "lead:L-15", "strategy": "manual", "assignee": "u3"])
        let moved = try await events("record.assigned").last
        #expect(moved?.payload["previousAssignee"] == "u1" && moved?.payload["assignee"] == "u3")
        let (u1, u3) = (try await openCount("u1"), try await openCount("u3"))
        #expect(u1 == 0 && u3 == 3)

        // Territories: an expression on the record picks the team; custom: a registered Swift strategy.
        try await accepted("assignment.request", ["subject": "lead:L-16", "strategy": "rule", "fallbackTeam": "sales",
                                                  "rules": [["when": "data.region == 'emea'", "team": "emea"]]])
        #expect(try await events("record.assigned").last?.payload["assignee"] == "m")
        try await accepted("assignment.request", ["subject": "lead:L-17", "strategy": "rule", "fallbackTeam": "sales",
                                                  "rules": [["when": "data.region == 'emea'", "team": "emea"]]])
        #expect(try await events("record.assigned").last?.payload["team"] == "sales")
        try await accepted("assignment.request", ["subject": "lead:L-18", "strategy": "last_in_team", "team": "sales"])
        #expect(try await events("record.assigned").last?.payload["assignee"] == "u7")

        // Self-assignment needs the tenant's permission.
        #expect(try await rejection("assignment.request", ["subject": "lead:L-19", "strategy": "manual", "assignee": "u2"], actor: "u2") == "forbidden_self_assignment")
        try await accepted("directory.configure", ["allowSelfAssignment": true])
        try await accepted("assignment.request", ["subject": "lead:L-19", "strategy": "manual", "assignee": "u2"], actor: "u2")
    }

    // FUN-CRM-0249: dated delegation; chains of at most 3 hops; cycles refused; revocation at once.
    @Test("delegation: dates, chains, depth and cycles, revocation, bad input")
    func delegation() async throws {
        try await setUp(leads: 6)
        let now = "2026-11-25T10:00:00Z"
        func assign(_ lead: String, to user: String) async throws -> Envelope? {
            try await accepted("assignment.request", ["subject": .string("lead:\(lead)"), "strategy": "manual", "assignee": .string(user)], at: now)
            return try await events("record.assigned").last
        }
        try await accepted("delegation.set", ["delegationId": "D-next", "delegator": "u1", "delegatee": "u2",
                                              "from": "2026-12-01T09:00:00+01:00", "until": "2026-12-08T18:00:00+01:00"], actor: "u1", at: now)
        #expect(try await assign("L-1", to: "u1")?.payload["assignee"] == "u1", "a delegation for next week does not route today")
        try await accepted("delegation.set", ["delegationId": "D-ab", "delegator": "u3", "delegatee": "u4",
                                              "from": "2026-11-24T00:00:00Z", "until": "2026-11-30T00:00:00Z"], actor: "u3", at: now)
        try await accepted("delegation.set", ["delegationId": "D-bc", "delegator": "u4", "delegatee": "u5",
                                              "from": "2026-11-24T00:00:00Z", "until": "2026-11-30T00:00:00Z"], at: now)
        let routed = try await assign("L-2", to: "u3")
        #expect(routed?.payload["assignee"] == "u5" && routed?.payload["delegationChain"] == ["u3", "u4", "u5"], "A→B→C routes to C")
        try await accepted("delegation.set", ["delegationId": "D-cd", "delegator": "u5", "delegatee": "u6",
                                              "from": "2026-11-24T00:00:00Z", "until": "2026-11-30T00:00:00Z"], at: now)
        #expect(try await rejection("delegation.set", ["delegationId": "D-de", "delegator": "u6", "delegatee": "u7",
                                                       "from": "2026-11-24T00:00:00Z", "until": "2026-11-30T00:00:00Z"], at: now) == "invalid_delegation",
                "A→B→C→D→E: depth 4")
        #expect(try await rejection("delegation.set", ["delegationId": "D-ba", "delegator": "u4", "delegatee": "u3",
                                                       "from": "2026-12-01T00:00:00Z", "until": "2026-12-02T00:00:00Z"], at: now) == "invalid_delegation",
                "A→B→A: a cycle")
        try await accepted("delegation.revoke", ["delegationId": "D-ab"], actor: "u4", at: now)
        #expect(try await assign("L-3", to: "u3")?.payload["assignee"] == "u3", "a revoked delegation stops routing at once")
        let granted = try await events("delegation.granted")
        #expect(granted.map { $0.payload["delegationId"]?.stringValue ?? "" } == ["D-next", "D-ab", "D-bc", "D-cd"])
        #expect(try await events("delegation.revoked").count == 1)

        // Bad input: unknown and other tenants' users, malformed dates, end before start, someone else's work.
        let window: [String: JSONValue] = ["from": "2026-11-24T00:00:00Z", "until": "2026-11-30T00:00:00Z"]
        func delegation(_ extra: [String: JSONValue]) -> JSONValue { .object(window.merging(["delegationId": "D-x", "delegator": "u1", "delegatee": "u2"]) { $1 }.merging(extra) { $1 }) }
        #expect(try await rejection("delegation.set", delegation(["delegatee": "nobody"]), at: now) == "unknown_user")
        #expect(try await rejection("delegation.set", delegation([:]), actor: "u1", tenant: "other", at: now) == "unknown_user", "another tenant's users are unknown")
        #expect(try await rejection("delegation.set", delegation(["from": "2026-13-01T00:00:00Z"]), at: now) == "invalid_payload")
        #expect(try await rejection("delegation.set", delegation(["until": "next tuesday"]), at: now) == "invalid_payload")
        #expect(try await rejection("delegation.set", delegation(["from": "2026-11-30T00:00:00Z", "until": "2026-11-24T00:00:00Z"]), at: now) == "invalid_payload")
        #expect(try await rejection("delegation.set", delegation(["delegatee": "gone"]), at: now) == "inactive_user")
        #expect(try await rejection("delegation.set", delegation([:]), actor: "u7", at: now) == "forbidden")
        #expect(try await rejection("delegation.revoke", ["delegationId": "D-none"], at: now) == "not_found")
        #expect(try await rejection("assignment.request", ["subject": "lead:L-4", "strategy": "manual", "assignee": "nobody"], at: now) == "unknown_user")
        #expect(try await rejection("assignment.request", ["subject": "lead:L-404", "strategy": "round_robin", "team": "sales"], at: now) == "not_found")
        #expect(try await rejection("assignment.request", ["subject": "lead:L-4", "strategy": "round_robin"], at: now) == "invalid_payload")
        #expect(try await rejection("assignment.request", ["subject": "lead:L-4", "strategy": "round_robin", "team": "nobody"], at: now) == "empty_pool")
    }

    // FUN-CRM-0256: multi-user approvals; the pipeline waits for them and reacts to the decision.
    @Test("approvals: the guarded action waits, votes decide once, the pipeline applies the approved action")
    func approvals() async throws {
        try await setUp(leads: 3)
        #expect(try await rejection("lead.apply", ["leadId": "L-1", "action": "close_won"]) == "approval_required")
        try await accepted("approval.request", ["approvalId": "AP-1", "subject": "lead:L-1", "action": "close_won",
                                                "approvers": ["u1", "u2", "u3"], "strategy": "majority"], actor: "u7")
        #expect(try await rejection("approval.request", ["approvalId": "AP-2", "subject": "lead:L-1", "action": "close_won",
                                                         "approvers": ["u1"], "strategy": "unison"], actor: "u7") == "already_exists", "one pending approval per action")
        #expect(try await rejection("lead.apply", ["leadId": "L-1", "action": "close_won"]) == "approval_required")
        #expect(try await rejection("approval.vote", ["approvalId": "AP-1", "vote": "approve"], actor: "u6") == "not_an_approver")
        // The same vote delivered twice (one command id) is recorded once.
        let first = Envelope(type: "approval.vote", kind: .command, tenant: tenant, actor: "u1", payload: ["approvalId": "AP-1", "vote": "approve", "comment": "good deal"])
        _ = try await assignment.execute(first, shard: shard)
        guard case .replayed = try await assignment.execute(first, shard: shard) else { Issue.record("a replay decided again"); return }
        #expect(try await events("approval.vote_recorded").count == 1)
        #expect(try await rejection("approval.vote", ["approvalId": "AP-1", "vote": "reject"], actor: "u1") == "already_voted")
        #expect(try await events("approval.decided").isEmpty)
        try await accepted("approval.vote", ["approvalId": "AP-1", "vote": "approve"], actor: "u2")
        let decided = try await events("approval.decided")
        #expect(decided.count == 1 && decided[0].payload["outcome"] == "approved" && decided[0].payload["noResponse"] == ["u3"])
        #expect(decided[0].payload["tally"]?["approve"] == 2)
        try await accepted("approval.vote", ["approvalId": "AP-1", "vote": "reject"], actor: "u3")
        #expect(try await events("approval.vote_recorded").last?.payload["late"] == true)
        #expect(try await events("approval.decided").count == 1, "a late vote changes nothing")

        // The decision's commit sent the approved action to pipeline-service, on the submitter's behalf.
        let emitted = try await fixture.redis.xrange(shard.commands(.pipeline)).map { try EnvelopeReader().read($0.field("envelope") ?? []) }
        #expect(emitted.count == 1 && emitted[0].type == "lead.apply" && emitted[0].actor == "u7" && emitted[0].payload["action"] == "close_won")
        let applied = try await pipeline.execute(emitted[0], shard: shard)
        guard case .decided(let outcome) = applied else { Issue.record("replayed"); return }
        #expect(outcome.type == "command.accepted")
        #expect(try await fixture.redis.send("HGET", shard.approvals(tenant: tenant, entity: "lead", id: "L-1"), "a:close_won").string == "applied:AP-1")
        try await accepted("lead.apply", ["leadId": "L-1", "action": "reopen"])
        #expect(try await rejection("lead.apply", ["leadId": "L-1", "action": "close_won"]) == "approval_required", "an approval lets the action through once")

        // A delegate votes for the approver who is away; the submitter may not approve their own request.
        try await accepted("delegation.set", ["delegationId": "D-1", "delegator": "u4", "delegatee": "u5",
                                              "from": "2026-01-01T00:00:00Z", "until": "2030-01-01T00:00:00Z"], actor: "u4")
        try await accepted("approval.request", ["approvalId": "AP-3", "subject": "lead:L-2", "action": "close_won",
                                                "approvers": ["u4", "u6"], "strategy": "unison"], actor: "u6")
        #expect(try await rejection("approval.vote", ["approvalId": "AP-3", "vote": "approve"], actor: "u6") == "forbidden_self_approval")
        try await accepted("approval.vote", ["approvalId": "AP-3", "vote": "reject", "comment": "too cheap"], actor: "u5")
        let rejected = try await events("approval.decided").last
        #expect(rejected?.payload["outcome"] == "rejected" && rejected?.payload["approvalId"] == "AP-3")
        #expect(try await events("approval.vote_recorded").last?.payload["approver"] == "u4")
        #expect(try await rejection("approval.request", ["approvalId": "AP-4", "subject": "lead:L-2", "action": "close_won",
                                                         "approvers": ["u1", "nobody"], "strategy": "majority"], actor: "u6") == "unknown_user")
        #expect(try await rejection("approval.request", ["approvalId": "AP-4", "subject": "lead:L-2", "action": "close_won",
                                                         "approvers": ["u1", "u2"], "strategy": "quorum", "quorum": 3], actor: "u6") == "invalid_payload")
    }

    // REL-CRM-0397: concurrent votes from several consumers make one decision.
    @Test("concurrent votes from several deciders: every vote recorded, exactly one decision")
    func concurrentVotes() async throws {
        try await setUp(leads: 1)
        try await accepted("approval.request", ["approvalId": "AP-9", "subject": "lead:L-1", "action": "close_won",
                                                "approvers": ["u1", "u2", "u3", "u4", "u5", "u6", "u7"], "strategy": "quorum", "quorum": 2], actor: "boss")
        let storage = RedisCrmStorage(pool: fixture.pool)
        let deciders = (0..<3).map { _ in AssignmentCommands(storage: storage, logger: Logger(label: "test")) }
        let shard = self.shard
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 1...7 {
                group.addTask {
                    let vote = Envelope(type: "approval.vote", kind: .command, tenant: "acme", actor: "u\(index)",
                                        payload: ["approvalId": "AP-9", "vote": index % 2 == 0 ? "reject" : "approve"])
                    try await deciders[index % 3].execute(vote, shard: shard)
                }
            }
            try await group.waitForAll()
        }
        #expect(try await events("approval.vote_recorded").count == 7)
        #expect(try await events("approval.decided").count == 1)
        let stored = try CrmStore.decode(Approval.self, try #require(try await fixture.redis.send("HGET", shard.approval(tenant: tenant, id: "AP-9"), "d").bytes))
        #expect(stored.status == .approved && stored.votes.count == 7 && stored.votes.filter { !$0.late }.count >= 2)
    }

    // FUN-CRM-0263: an SLA breach or an escalation level that says reassign moves the record.
    @Test("sla.breached and record.escalated with reassign move the record to the named team, once")
    func breachReassigns() async throws {
        try await setUp(leads: 2)
        try await accepted("assignment.request", ["subject": "lead:L-1", "strategy": "manual", "assignee": "u1"])
        let breach = Envelope(type: "sla.breached", kind: .event, tenant: tenant, actor: "system", payload: [
            "subject": "lead:L-1", "entity": "lead", "recordId": "L-1", "sla": "first_response", "stage": "new",
            "actions": [["action": "notify", "to": "owner"], ["action": "reassign", "to": "emea"]],
        ])
        #expect(try await assignment.execute(breach, shard: shard).isSilent)
        guard case .replayed = try await assignment.execute(breach, shard: shard) else { Issue.record("a redelivered breach reassigned again"); return }
        let moved = try await events("record.assigned").last
        #expect(moved?.payload["assignee"] == "m" && moved?.payload["previousAssignee"] == "u1" && moved?.causationId == breach.id)
        let escalation = Envelope(type: "record.escalated", kind: .event, tenant: tenant, actor: "system", payload: [
            "subject": "lead:L-2", "entity": "lead", "recordId": "L-2", "level": 2, "action": "reassign", "from": "owner", "to": "sales",
        ])
        _ = try await assignment.execute(escalation, shard: shard)
        #expect(try await events("record.assigned").last?.payload["subject"] == "lead:L-2")
        let nowhere = Envelope(type: "record.escalated", kind: .event, tenant: tenant, actor: "system", payload: ["subject": "lead:L-2", "action": "reassign", "to": "nobody"])
        _ = try await assignment.execute(nowhere, shard: shard)
        #expect(try await events("record.assigned").count == 3, "a team with no active user leaves the record where it is")
    }

    // SEC-CRM-0467: with a directory, commands that follow no definition need an active member; admins
    // alone register API keys and change settings.
    @Test("non-members may not touch contacts or interactions; API keys and settings: admins only, checked, hashed")
    func membersAndAdmins() async throws {
        #expect(try await rejection("directory.configure", ["allowSelfAssignment": true]) == "not_found", "no directory yet")
        try await setUp(leads: 1)
        try await accepted("contact.add", ["contactId": "C-1", "data": ["name": "Ada"]], actor: "u1")
        #expect(try await rejection("contact.add", ["contactId": "C-2"], actor: "stranger") == "forbidden")
        #expect(try await rejection("contact.update", ["contactId": "C-1", "data": ["name": "B"]], actor: "gone") == "forbidden", "inactive")
        #expect(try await rejection("interaction.log", ["interactionId": "I-1", "kind": "note", "subject": "lead:L-1"], actor: "stranger") == "forbidden")
        #expect(try await rejection("directory.configure", ["allowSelfAssignment": true], actor: "u1") == "forbidden")

        let hash = String(repeating: "ab", count: 32)
        #expect(try await rejection("directory.put_api_key", ["keyHash": "not-a-hash", "userId": "u1"]) == "invalid_payload")
        #expect(try await rejection("directory.put_api_key", ["keyHash": .string(hash), "userId": "nobody"]) == "unknown_user")
        #expect(try await rejection("directory.put_api_key", ["keyHash": .string(hash), "userId": "u1"], actor: "u1") == "forbidden")
        try await accepted("directory.put_api_key", ["keyHash": .string(hash), "userId": "u1", "name": "app"])
        let registered = try #require(try await events("directory.api_key_updated").last)
        #expect(registered.payload["keyId"] == .string(String(hash.prefix(12))) && !registered.json.contains(hash), "the full hash is not published")
        let stored = try await fixture.redis.send("HGET", shard.directory(tenant: tenant), "k:\(hash)").string ?? ""
        #expect(stored.contains("\"userId\":\"u1\"") && stored.contains("\"active\":true"))
    }
}
