import CrmCore
import Testing

@Suite("assignment strategies and dated delegation")
struct AssignmentRulesTests {
    static let day = 86_400.0
    static let now = 1_800_000_000.0

    static let users = ["u1", "u2", "u3", "u4", "u5", "u6", "u7"].map { DirectoryUser(userId: $0, roles: ["sales"], teams: ["sales"]) }
        + [DirectoryUser(userId: "gone", roles: ["sales"], active: false, teams: ["sales"]), DirectoryUser(userId: "m", roles: ["manager"], teams: ["emea"])]

    func delegation(_ id: String, _ from: String, _ to: String, starts: Double = now - day, ends: Double = now + day, scope: [String] = []) -> Delegation {
        Delegation(id: id, delegator: from, delegatee: to, from: "f", until: "u", starts: starts, ends: ends, scope: scope)
    }

    func choose(_ strategy: AssignmentStrategy, cursor: Int = 0, loads: [String: Int] = [:], record: PipelineRecord? = nil,
                delegations: [Delegation] = [], actor: String = "boss", allowSelf: Bool = false) throws(DomainRejection) -> AssignmentChoice {
        try AssignmentRules.choose(strategy, users: Self.users, cursor: { _ in cursor }, loads: loads, record: record, now: Self.now, entity: "lead",
                                   delegations: delegations, actor: actor, allowSelfAssignment: allowSelf, registry: .empty)
    }

    // FUN-CRM-0244: round-robin is fair over time and skips inactive users.
    @Test("round-robin takes the team's active users in turn and moves the cursor")
    func roundRobin() throws {
        var counts: [String: Int] = [:]
        for turn in 0..<1000 {
            let choice = try choose(.roundRobin(team: "sales"), cursor: turn)
            counts[choice.assignee, default: 0] += 1
            #expect(choice.cursor == turn + 1)
        }
        #expect(counts["gone"] == nil)
        #expect(counts.count == 7 && counts.values.max()! - counts.values.min()! <= 1)
    }

    @Test("least-loaded picks the minimum, ties by id; manual names a user; an empty team is refused")
    func leastLoadedAndManual() throws {
        #expect(try choose(.leastLoaded(team: "sales"), loads: ["u1": 3, "u2": 1, "u3": 1, "u4": 2, "u5": 5, "u6": 4, "u7": 9]).assignee == "u2")
        #expect(try choose(.manual(user: "u4")).assignee == "u4")
        #expect(throws: DomainRejection.self) { try choose(.manual(user: "nobody")) }
        #expect(throws: DomainRejection.self) { try choose(.manual(user: "gone")) }
        #expect(throws: DomainRejection.self) { try choose(.roundRobin(team: "nobody-here")) }
    }

    @Test("territory rules route by expression on the record, else the fallback team")
    func territories() throws {
        let schema = ExpressionSchema(["stage": .string, "data.region": .string])
        let rules = [TerritoryRule(when: try CompiledExpression.compile("data.region == 'emea'", schema: schema), team: "emea")]
        let emea = PipelineRecord(id: "L-1", stage: "new", definitionVersion: 1, data: ["region": "emea"], version: 1)
        let apac = PipelineRecord(id: "L-2", stage: "new", definitionVersion: 1, data: ["region": "apac"], version: 1)
        #expect(try choose(.rule(rules, fallback: "sales"), record: emea).assignee == "m")
        #expect(try choose(.rule(rules, fallback: "sales"), record: apac).team == "sales")
    }

    @Test("self-assignment is refused unless the tenant allows it")
    func selfAssignment() throws {
        do {
            _ = try choose(.manual(user: "u1"), actor: "u1")
            Issue.record("self-assignment went through")
        } catch { #expect(error.code == "forbidden_self_assignment") }
        #expect(try choose(.manual(user: "u1"), actor: "u1", allowSelf: true).assignee == "u1")
    }

    // FUN-CRM-0249: delegation with a date range; the chain first, at most 3 hops, no cycles.
    @Test("delegation routes while active only, follows chains, and refuses depth 4 and cycles when set")
    func delegations() throws {
        let nextWeek = delegation("d0", "u1", "u2", starts: Self.now + 7 * Self.day, ends: Self.now + 14 * Self.day)
        #expect(try choose(.manual(user: "u1"), delegations: [nextWeek]).assignee == "u1", "a delegation for next week does not route today")
        let chain = [delegation("d1", "u1", "u2"), delegation("d2", "u2", "u3")]
        let routed = try choose(.manual(user: "u1"), delegations: chain)
        #expect(routed.assignee == "u3" && routed.chain == ["u1", "u2", "u3"])
        var revoked = chain[0]
        revoked.revoked = true
        #expect(try choose(.manual(user: "u1"), delegations: [revoked, chain[1]]).assignee == "u1", "a revoked delegation stops routing at once")
        #expect(try choose(.manual(user: "u1"), delegations: [delegation("d9", "u1", "u2", scope: ["opportunity"])]).assignee == "u1", "out of scope")

        #expect(DelegationRules.check(delegation("d3", "u3", "u4"), existing: chain, now: Self.now) == nil, "A→B→C→D: 3 hops")
        let three = chain + [delegation("d3", "u3", "u4")]
        #expect(DelegationRules.check(delegation("d4", "u4", "u5"), existing: three, now: Self.now)?.code == "invalid_delegation", "depth 4 refused")
        #expect(DelegationRules.check(delegation("d5", "u0", "u1"), existing: three, now: Self.now)?.code == "invalid_delegation", "depth 4 from the front refused")
        #expect(DelegationRules.check(delegation("d6", "u2", "u1"), existing: [chain[0]], now: Self.now)?.code == "invalid_delegation", "A→B→A refused")
        #expect(DelegationRules.check(delegation("d7", "u1", "u1"), existing: [], now: Self.now)?.code == "invalid_delegation")
        #expect(DelegationRules.check(delegation("d8", "u1", "u2", starts: Self.now, ends: Self.now - 1), existing: [], now: Self.now)?.field == "payload.until")
        #expect(DelegationRules.check(delegation("d10", "u1", "u5"), existing: chain, now: Self.now)?.field == "payload.from", "overlapping delegation of one delegator")
    }
}
