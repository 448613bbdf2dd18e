/// How an assignee is chosen (DESIGN §4).
public enum AssignmentStrategy: Sendable, Hashable {
    /// The team's active users in turn; the cursor is stored, so turns survive restarts and are
    /// shared by every consumer.
    case roundRobin(team: String)
    /// The team's active user with the fewest open records assigned (ties: the lowest user id).
    case leastLoaded(team: String)
    /// The named user.
    case manual(user: String)
    /// The team of the first rule whose expression holds on the record (territories), else `fallback`;
    /// the user is then chosen round-robin in that team.
    case rule([TerritoryRule], fallback: String)
    /// A registered Swift strategy, by name, over a team.
    case custom(name: String, team: String)

    public var name: String {
        switch self {
        case .roundRobin: return "round_robin"
        case .leastLoaded: return "least_loaded"
        case .manual: return "manual"
        case .rule: return "rule"
        case .custom(let name, _): return name
        }
    }
}

public struct TerritoryRule: Sendable, Hashable {
    public let when: CompiledExpression
    public let team: String

    public init(when: CompiledExpression, team: String) {
        self.when = when
        self.team = team
    }
}

/// What a custom strategy sees: the team's active users (sorted), their open loads, the record.
public struct AssignmentCandidates: Sendable {
    public let team: String
    public let users: [String]
    public let loads: [String: Int]
    public let record: PipelineRecord?
}

/// Registered Swift assignment strategies: a user of the candidates, or nil to refuse.
public struct AssignmentStrategyRegistry: Sendable {
    public typealias Strategy = @Sendable (AssignmentCandidates) -> String?
    public private(set) var strategies: [String: Strategy] = [:]

    public init() {}

    public static let empty = AssignmentStrategyRegistry()

    public mutating func strategy(_ name: String, _ body: @escaping Strategy) { strategies[name] = body }
}

/// What assigning decided: the user asked for by the strategy, the one who gets the record after
/// delegations, and how the turn moved.
public struct AssignmentChoice: Sendable, Hashable {
    public let strategy: String
    public let team: String?
    public let chosen: String
    public let assignee: String
    /// `[chosen, …, assignee]` through active delegations.
    public let chain: [String]
    /// The round-robin cursor after this turn (for the team it used), when one moved.
    public let cursor: Int?
}

public enum AssignmentRules {
    /// A team's pool: the tenant's active users in `team`, by id.
    public static func pool(_ team: String, users: [DirectoryUser]) -> [String] {
        users.filter { $0.active && $0.teams.contains(team) }.map(\.userId).sorted()
    }

    /// Chooses the assignee. `cursor` is the team's stored round-robin position; `loads` the open
    /// records per user; `record` the record being assigned (for rules and custom strategies).
    public static func choose(_ strategy: AssignmentStrategy, users: [DirectoryUser], cursor: (String) -> Int, loads: [String: Int],
                              record: PipelineRecord?, now: Double, entity: String, delegations: [Delegation], actor: String,
                              allowSelfAssignment: Bool, registry: AssignmentStrategyRegistry) throws(DomainRejection) -> AssignmentChoice {
        let byID = Dictionary(users.map { ($0.userId, $0) }, uniquingKeysWith: { first, _ in first })
        var team: String?
        var nextCursor: Int?
        let chosen: String
        func roundRobin(_ name: String) throws(DomainRejection) -> String {
            let members = pool(name, users: users)
            guard !members.isEmpty else { throw DomainRejection(code: "empty_pool", message: "team '\(name)' has no active user", field: "payload.team") }
            let position = cursor(name)
            nextCursor = position + 1
            return members[position % members.count]
        }
        switch strategy {
        case .roundRobin(let name):
            team = name
            chosen = try roundRobin(name)
        case .leastLoaded(let name):
            team = name
            let members = pool(name, users: users)
            guard let least = members.min(by: { (loads[$0] ?? 0, $0) < (loads[$1] ?? 0, $1) }) else {
                throw DomainRejection(code: "empty_pool", message: "team '\(name)' has no active user", field: "payload.team")
            }
            chosen = least
        case .manual(let user):
            guard let entry = byID[user] else { throw DomainRejection(code: "unknown_user", message: "'\(user)' is not a user of the tenant's directory", field: "payload.assignee") }
            guard entry.active else { throw DomainRejection(code: "inactive_user", message: "'\(user)' is not active", field: "payload.assignee") }
            chosen = user
        case .rule(let rules, let fallback):
            let context = record.map { RecordContext(record: $0, now: now, types: [:]) }
            let name = rules.first { rule in context.map(rule.when.holds) ?? false }?.team ?? fallback
            team = name
            chosen = try roundRobin(name)
        case .custom(let name, let teamName):
            team = teamName
            guard let body = registry.strategies[name] else {
                throw DomainRejection(code: "invalid_payload", message: "no registered assignment strategy '\(name)'", field: "payload.strategy")
            }
            let members = pool(teamName, users: users)
            let candidates = AssignmentCandidates(team: teamName, users: members, loads: loads, record: record)
            guard let pick = body(candidates), members.contains(pick) else {
                throw DomainRejection(code: "empty_pool", message: "strategy '\(name)' chose no active user of team '\(teamName)'", field: "payload.strategy")
            }
            chosen = pick
        }
        let chain = DelegationRules.chain(from: chosen, at: now, entity: entity, delegations: delegations)
        // A delegate who has left (inactive or unknown) cannot take work: it stays with the last active one.
        let reachable = chain.prefix { byID[$0]?.active == true }
        let assignee = reachable.last ?? chosen
        // Self-assignment is a user naming themselves; a strategy's turn or a colleague's delegation
        // that lands on them is not.
        if case .manual(let user) = strategy, user == actor, !allowSelfAssignment {
            throw DomainRejection(code: "forbidden_self_assignment", message: "'\(actor)' may not assign records to themselves in this tenant",
                                  field: "payload.assignee")
        }
        return AssignmentChoice(strategy: strategy.name, team: team, chosen: chosen, assignee: assignee, chain: Array(reachable.isEmpty ? [chosen] : reachable),
                                cursor: nextCursor)
    }
}

/// Who a record is assigned to, as assignment-service keeps it.
public struct RecordAssignment: Sendable, Hashable, Codable {
    public let subject: String
    public let assignee: String
    public let chosen: String
    public let strategy: String
    public let team: String?
    public let chain: [String]
    public let assignedAt: String
    public let assignedBy: String

    public init(subject: String, assignee: String, chosen: String, strategy: String, team: String?, chain: [String], assignedAt: String, assignedBy: String) {
        self.subject = subject
        self.assignee = assignee
        self.chosen = chosen
        self.strategy = strategy
        self.team = team
        self.chain = chain
        self.assignedAt = assignedAt
        self.assignedBy = assignedBy
    }
}

/// One record in a user's queue; `open` turns false when the record reaches a terminal stage.
public struct QueueEntry: Sendable, Hashable, Codable {
    public let subject: String
    public let assignedAt: String
    public var open: Bool

    public init(subject: String, assignedAt: String, open: Bool = true) {
        self.subject = subject
        self.assignedAt = assignedAt
        self.open = open
    }
}
