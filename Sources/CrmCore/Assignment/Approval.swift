/// How an approval's votes decide it (DESIGN §4).
public enum ApprovalStrategy: Sendable, Hashable, Codable {
    /// Every approver approves; any rejection (or abstention) decides against.
    case unison
    /// More than half of the approvers approve.
    case majority
    /// At least `k` approvers approve.
    case quorum(Int)
    /// The first approve or reject decides.
    case firstResponse
    /// The approving approvers' weights reach `required`.
    case weighted(weights: [String: Double], required: Double)
    /// A registered Swift rule, by name.
    case custom(String)
}

public enum Vote: String, Sendable, Hashable, Codable {
    case approve, reject, abstain
}

/// One approver's vote (cast by them or by their active delegate).
public struct CastVote: Sendable, Hashable, Codable {
    public let approver: String
    public let voter: String
    public let vote: Vote
    public let comment: String?
    public let at: String
    /// Cast after the decision: recorded, not counted.
    public let late: Bool

    public init(approver: String, voter: String, vote: Vote, comment: String?, at: String, late: Bool) {
        self.approver = approver
        self.voter = voter
        self.vote = vote
        self.comment = comment
        self.at = at
        self.late = late
    }
}

public enum ApprovalStatus: String, Sendable, Hashable, Codable {
    case pending, approved, rejected
}

/// The counts a decision reports.
public struct ApprovalTally: Sendable, Hashable, Codable {
    public var approve = 0
    public var reject = 0
    public var abstain = 0
    public var pending = 0
    public var approvedWeight: Double?

    public init() {}
}

/// A multi-user approval of one record's action.
public struct Approval: Sendable, Hashable, Codable {
    public let id: String
    /// `lead:L-1`.
    public let subject: String
    /// The action it approves (`close_won`); the pipeline lets that action through once approved.
    public let action: String
    public let submitter: String
    public let approvers: [String]
    public let strategy: ApprovalStrategy
    public let allowSelfApproval: Bool
    public var votes: [CastVote]
    public var status: ApprovalStatus
    public var decidedAt: String?
    /// Approvers who had not voted when it was decided.
    public var noResponse: [String]

    public init(id: String, subject: String, action: String, submitter: String, approvers: [String], strategy: ApprovalStrategy,
                allowSelfApproval: Bool = false) {
        self.id = id
        self.subject = subject
        self.action = action
        self.submitter = submitter
        self.approvers = approvers
        self.strategy = strategy
        self.allowSelfApproval = allowSelfApproval
        self.votes = []
        self.status = .pending
        self.decidedAt = nil
        self.noResponse = []
    }
}

/// Registered Swift approval rules: given the approvers and the counted votes, a decision or nil
/// while undecided.
public struct ApprovalRuleRegistry: Sendable {
    public typealias Rule = @Sendable (_ approvers: [String], _ votes: [String: Vote]) -> ApprovalStatus
    public private(set) var rules: [String: Rule] = [:]

    public init() {}

    public static let empty = ApprovalRuleRegistry()

    public mutating func rule(_ name: String, _ body: @escaping Rule) { rules[name] = body }
}

public enum ApprovalRules {
    /// Checks a new request: approvers known and distinct, the strategy's numbers possible.
    public static func check(approvers: [String], strategy: ApprovalStrategy, registry: ApprovalRuleRegistry) -> DomainRejection? {
        guard !approvers.isEmpty else { return DomainRejection(code: "invalid_payload", message: "an approval needs at least one approver", field: "payload.approvers") }
        guard Set(approvers).count == approvers.count else {
            return DomainRejection(code: "invalid_payload", message: "an approver is listed twice", field: "payload.approvers")
        }
        switch strategy {
        case .quorum(let k) where k < 1 || k > approvers.count:
            return DomainRejection(code: "invalid_payload", message: "a quorum of \(k) is impossible with \(approvers.count) approver(s)", field: "payload.quorum")
        case .weighted(let weights, let required):
            if let missing = approvers.first(where: { weights[$0] == nil }) {
                return DomainRejection(code: "invalid_payload", message: "approver '\(missing)' has no weight", field: "payload.weights")
            }
            if weights.values.contains(where: { $0 <= 0 || !$0.isFinite }) {
                return DomainRejection(code: "invalid_payload", message: "weights are positive numbers", field: "payload.weights")
            }
            let total = approvers.reduce(0) { $0 + weights[$1]! }
            guard required > 0, required <= total else {
                return DomainRejection(code: "invalid_payload", message: "a required weight of \(required) is impossible with a total of \(total)", field: "payload.requiredWeight")
            }
        case .custom(let name) where registry.rules[name] == nil:
            return DomainRejection(code: "invalid_payload", message: "no registered approval rule '\(name)'", field: "payload.strategy")
        default: break
        }
        return nil
    }

    /// The decision the counted votes make certain, or `.pending` while the outcome could still go
    /// either way: early approval and early rejection both decide at once.
    public static func decide(_ approval: Approval, registry: ApprovalRuleRegistry) -> (ApprovalStatus, ApprovalTally) {
        var counted: [String: Vote] = [:]
        for vote in approval.votes where !vote.late && counted[vote.approver] == nil { counted[vote.approver] = vote.vote }
        var tally = ApprovalTally()
        for approver in approval.approvers {
            switch counted[approver] {
            case .approve: tally.approve += 1
            case .reject: tally.reject += 1
            case .abstain: tally.abstain += 1
            case nil: tally.pending += 1
            }
        }
        let n = approval.approvers.count
        let status: ApprovalStatus
        switch approval.strategy {
        case .unison:
            status = tally.reject + tally.abstain > 0 ? .rejected : (tally.approve == n ? .approved : .pending)
        case .majority:
            status = 2 * tally.approve > n ? .approved : (2 * (tally.approve + tally.pending) <= n ? .rejected : .pending)
        case .quorum(let k):
            status = tally.approve >= k ? .approved : (tally.approve + tally.pending < k ? .rejected : .pending)
        case .firstResponse:
            let first = approval.votes.first { !$0.late && $0.vote != .abstain }
            status = first.map { $0.vote == .approve ? .approved : .rejected } ?? (tally.pending == 0 ? .rejected : .pending)
        case .weighted(let weights, let required):
            let approved = approval.approvers.filter { counted[$0] == .approve }.reduce(0) { $0 + (weights[$1] ?? 0) }
            let open = approval.approvers.filter { counted[$0] == nil }.reduce(0) { $0 + (weights[$1] ?? 0) }
            tally.approvedWeight = approved
            status = approved >= required ? .approved : (approved + open < required ? .rejected : .pending)
        case .custom(let name):
            let decided = registry.rules[name]?(approval.approvers, counted) ?? .pending
            // A rule that cannot decide once everyone has voted would leave the approval open forever.
            status = decided == .pending && tally.pending == 0 ? .rejected : decided
        }
        return (status, tally)
    }

    /// Records `voter`'s vote for `approver` and decides if the outcome became certain. A vote after
    /// the decision is recorded as late and changes nothing; the same approver voting again is
    /// `already_voted` (a replay of the same command is answered by idempotency before this).
    public static func vote(_ approval: Approval, approver: String, voter: String, vote: Vote, comment: String?, at: String,
                            registry: ApprovalRuleRegistry) throws(DomainRejection) -> (Approval, decided: Bool, ApprovalTally) {
        guard approval.approvers.contains(approver) else {
            throw DomainRejection(code: "not_an_approver", message: "'\(approver)' is not an approver of \(approval.id)", field: "actor")
        }
        if approver == approval.submitter, !approval.allowSelfApproval, vote == .approve {
            throw DomainRejection(code: "forbidden_self_approval", message: "'\(approver)' submitted \(approval.id) and may not approve it", field: "actor")
        }
        if approval.votes.contains(where: { $0.approver == approver }) {
            throw DomainRejection(code: "already_voted", message: "'\(approver)' has voted on \(approval.id) already", field: "actor")
        }
        var updated = approval
        let late = approval.status != .pending
        updated.votes.append(CastVote(approver: approver, voter: voter, vote: vote, comment: comment, at: at, late: late))
        guard !late else { return (updated, false, decide(approval, registry: registry).1) }
        let (status, tally) = decide(updated, registry: registry)
        guard status != .pending else { return (updated, false, tally) }
        updated.status = status
        updated.decidedAt = at
        let voted = Set(updated.votes.map(\.approver))
        updated.noResponse = updated.approvers.filter { !voted.contains($0) }
        return (updated, true, tally)
    }
}
