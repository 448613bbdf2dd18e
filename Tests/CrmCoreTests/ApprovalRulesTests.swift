import CrmCore
import Testing

@Suite("approvals: every strategy over vote sequences")
struct ApprovalRulesTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let strategy: ApprovalStrategy
        let approvers: [String]
        /// (approver, vote) in order.
        let votes: [(String, Vote)]
        /// The status after each vote.
        let expected: [ApprovalStatus]
        var testDescription: String { name }
    }

    static let abc = ["a", "b", "c"]
    static let cases: [Case] = [
        Case(name: "unison: all approve", strategy: .unison, approvers: abc, votes: [("a", .approve), ("b", .approve), ("c", .approve)],
             expected: [.pending, .pending, .approved]),
        Case(name: "unison: one reject decides at once", strategy: .unison, approvers: abc, votes: [("a", .approve), ("b", .reject), ("c", .approve)],
             expected: [.pending, .rejected, .rejected]),
        Case(name: "unison: an abstention makes unison impossible", strategy: .unison, approvers: abc, votes: [("a", .abstain)], expected: [.rejected]),
        Case(name: "majority: early approval at 2 of 3", strategy: .majority, approvers: abc, votes: [("a", .approve), ("b", .approve), ("c", .reject)],
             expected: [.pending, .approved, .approved]),
        Case(name: "majority: early rejection at 2 of 3 against", strategy: .majority, approvers: abc, votes: [("a", .reject), ("b", .abstain)],
             expected: [.pending, .rejected]),
        Case(name: "majority: a 2–2 tie is not more than half", strategy: .majority, approvers: ["a", "b", "c", "d"],
             votes: [("a", .approve), ("b", .reject), ("c", .approve), ("d", .reject)], expected: [.pending, .pending, .pending, .rejected]),
        Case(name: "quorum 2 of 4: decided by the second approval", strategy: .quorum(2), approvers: ["a", "b", "c", "d"],
             votes: [("a", .reject), ("b", .approve), ("c", .approve)], expected: [.pending, .pending, .approved]),
        Case(name: "quorum 3 of 4: impossible after two rejections", strategy: .quorum(3), approvers: ["a", "b", "c", "d"],
             votes: [("a", .reject), ("b", .reject)], expected: [.pending, .rejected]),
        Case(name: "first response: an abstention waits, the first approve decides", strategy: .firstResponse, approvers: abc,
             votes: [("a", .abstain), ("b", .approve), ("c", .reject)], expected: [.pending, .approved, .approved]),
        Case(name: "first response: everyone abstains", strategy: .firstResponse, approvers: ["a", "b"], votes: [("a", .abstain), ("b", .abstain)],
             expected: [.pending, .rejected]),
        Case(name: "weighted: the heavy approver is enough", strategy: .weighted(weights: ["a": 3, "b": 1, "c": 1], required: 3), approvers: abc,
             votes: [("b", .approve), ("a", .approve)], expected: [.pending, .approved]),
        Case(name: "weighted: impossible once the heavy approver rejects", strategy: .weighted(weights: ["a": 3, "b": 1, "c": 1], required: 3),
             approvers: abc, votes: [("a", .reject)], expected: [.rejected]),
        Case(name: "custom: two approvals in a row", strategy: .custom("two_yes"), approvers: abc, votes: [("a", .approve), ("b", .approve)],
             expected: [.pending, .approved]),
        Case(name: "custom: undecided once all voted is a rejection", strategy: .custom("two_yes"), approvers: ["a", "b"],
             votes: [("a", .approve), ("b", .abstain)], expected: [.pending, .rejected]),
    ]

    static let registry: ApprovalRuleRegistry = {
        var registry = ApprovalRuleRegistry()
        registry.rule("two_yes") { _, votes in votes.values.filter { $0 == .approve }.count >= 2 ? .approved : .pending }
        return registry
    }()

    // FUN-CRM-0256, FUN-CRM-0261: approval strategies decide as soon as the outcome is certain.
    @Test("decisions as soon as certain", arguments: cases)
    func decisions(_ example: Case) throws {
        var approval = Approval(id: "AP-1", subject: "lead:L-1", action: "close_won", submitter: "s", approvers: example.approvers, strategy: example.strategy)
        #expect(ApprovalRules.check(approvers: example.approvers, strategy: example.strategy, registry: Self.registry) == nil)
        var decisions = 0
        for ((approver, vote), expected) in zip(example.votes, example.expected) {
            let (next, decided, _) = try ApprovalRules.vote(approval, approver: approver, voter: approver, vote: vote, comment: nil, at: "t", registry: Self.registry)
            approval = next
            if decided { decisions += 1 }
            #expect(approval.status == expected, "after \(approver) voted \(vote)")
        }
        #expect(decisions <= 1, "decided exactly once")
        if approval.status != .pending {
            let decidedIndex = example.expected.firstIndex { $0 != .pending }!
            #expect(approval.votes.enumerated().allSatisfy { $0.element.late == ($0.offset > decidedIndex) }, "votes after the decision are late")
            let votedInTime = Set(approval.votes.prefix(decidedIndex + 1).map(\.approver))
            #expect(approval.noResponse == example.approvers.filter { !votedInTime.contains($0) }, "approvers who never answered in time")
        }
    }

    @Test("non-approvers, double votes and self-approval are refused; impossible strategies are refused at request")
    func refusals() throws {
        let approval = Approval(id: "AP-1", subject: "lead:L-1", action: "close_won", submitter: "a", approvers: ["a", "b"], strategy: .majority)
        #expect(throws: DomainRejection.self) { try ApprovalRules.vote(approval, approver: "z", voter: "z", vote: .approve, comment: nil, at: "t", registry: .empty) }
        do {
            _ = try ApprovalRules.vote(approval, approver: "a", voter: "a", vote: .approve, comment: nil, at: "t", registry: .empty)
            Issue.record("the submitter approved their own request")
        } catch { #expect(error.code == "forbidden_self_approval") }
        let voted = try ApprovalRules.vote(approval, approver: "b", voter: "b", vote: .abstain, comment: "away", at: "t", registry: .empty).0
        do {
            _ = try ApprovalRules.vote(voted, approver: "b", voter: "b", vote: .approve, comment: nil, at: "t", registry: .empty)
            Issue.record("a second vote counted")
        } catch { #expect(error.code == "already_voted") }
        #expect(ApprovalRules.check(approvers: ["a", "b"], strategy: .quorum(3), registry: .empty)?.field == "payload.quorum")
        #expect(ApprovalRules.check(approvers: ["a", "a"], strategy: .majority, registry: .empty)?.field == "payload.approvers")
        #expect(ApprovalRules.check(approvers: ["a", "b"], strategy: .weighted(weights: ["a": 1], required: 1), registry: .empty)?.field == "payload.weights")
        #expect(ApprovalRules.check(approvers: ["a", "b"], strategy: .weighted(weights: ["a": 1, "b": 1], required: 3), registry: .empty)?.field == "payload.requiredWeight")
        #expect(ApprovalRules.check(approvers: ["a"], strategy: .custom("nope"), registry: .empty)?.field == "payload.strategy")
    }
}
