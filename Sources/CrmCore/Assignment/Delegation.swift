/// A user's work handed to another for a date range (vacation auto-routing): while active, new
/// assignments and approval requests for the delegator go to the delegatee.
public struct Delegation: Sendable, Hashable, Codable {
    public let id: String
    public let delegator: String
    public let delegatee: String
    /// Start and end as given (RFC 3339 with their offset) and as instants (seconds since 1970).
    public let from: String
    public let until: String
    public let starts: Double
    public let ends: Double
    /// The entity kinds it covers (`lead`, `opportunity`); empty = all.
    public let scope: [String]
    public var revoked: Bool

    public init(id: String, delegator: String, delegatee: String, from: String, until: String, starts: Double, ends: Double,
                scope: [String] = [], revoked: Bool = false) {
        self.id = id
        self.delegator = delegator
        self.delegatee = delegatee
        self.from = from
        self.until = until
        self.starts = starts
        self.ends = ends
        self.scope = scope
        self.revoked = revoked
    }

    /// In force at `now` for `entity`: started, not ended (the end is exclusive), not revoked, in scope.
    public func isActive(at now: Double, entity: String?) -> Bool {
        !revoked && starts <= now && now < ends && (scope.isEmpty || entity.map(scope.contains) ?? true)
    }
}

/// How delegations chain (DESIGN §4): the assignee is resolved through active delegations first, at
/// most `maxHops`; a delegation that would make a longer chain or a cycle is refused when it is set.
/// Activity is evaluated when an assignment or vote happens, so delegations start and end on time
/// with no timer.
public enum DelegationRules {
    public static let maxHops = 3

    /// The users work for `user` goes through at `now`: `[user]` when nobody is away, else the chain
    /// ending with the one who gets it (`[a, b, c]`: a → b → c).
    public static func chain(from user: String, at now: Double, entity: String?, delegations: [Delegation]) -> [String] {
        var chain = [user]
        var current = user
        while chain.count <= maxHops, let next = delegations.first(where: { $0.delegator == current && $0.isActive(at: now, entity: entity) }) {
            // A cycle cannot be set; stop rather than loop if stored data holds one anyway.
            guard !chain.contains(next.delegatee) else { break }
            chain.append(next.delegatee)
            current = next.delegatee
        }
        return chain
    }

    /// Whether `candidate` may be set next to `existing`: not to oneself, not ended, no overlapping
    /// delegation of the same delegator, no cycle and no chain longer than `maxHops`. Chains are checked
    /// over every delegation not revoked and not ended, whatever their dates: a chain that could
    /// form later is refused now, when someone can still fix it.
    public static func check(_ candidate: Delegation, existing: [Delegation], now: Double) -> DomainRejection? {
        guard candidate.delegator != candidate.delegatee else {
            return DomainRejection(code: "invalid_delegation", message: "a user cannot delegate to themselves", field: "payload.delegatee")
        }
        guard candidate.ends > candidate.starts else {
            return DomainRejection(code: "invalid_payload", message: "until must be after from", field: "payload.until")
        }
        guard candidate.ends > now else {
            return DomainRejection(code: "invalid_payload", message: "the delegation would already have ended", field: "payload.until")
        }
        let live = existing.filter { !$0.revoked && $0.ends > now && $0.id != candidate.id }
        if let overlap = live.first(where: { $0.delegator == candidate.delegator && $0.starts < candidate.ends && candidate.starts < $0.ends
            && (Set($0.scope).intersection(candidate.scope).isEmpty == false || $0.scope.isEmpty || candidate.scope.isEmpty) }) {
            return DomainRejection(code: "invalid_delegation",
                                   message: "'\(candidate.delegator)' already delegates to '\(overlap.delegatee)' from \(overlap.from) until \(overlap.until) (\(overlap.id))",
                                   field: "payload.from")
        }
        var next: [String: Set<String>] = [:]
        for delegation in live { next[delegation.delegator, default: []].insert(delegation.delegatee) }
        if reaches(candidate.delegatee, candidate.delegator, next: next) {
            return DomainRejection(code: "invalid_delegation",
                                   message: "'\(candidate.delegatee)' already delegates, directly or through others, to '\(candidate.delegator)': that would be a cycle",
                                   field: "payload.delegatee")
        }
        var previous: [String: Set<String>] = [:]
        for delegation in live { previous[delegation.delegatee, default: []].insert(delegation.delegator) }
        let hops = longest(from: candidate.delegator, edges: previous) + 1 + longest(from: candidate.delegatee, edges: next)
        guard hops <= maxHops else {
            return DomainRejection(code: "invalid_delegation",
                                   message: "this delegation would make a chain of \(hops) hops; at most \(maxHops) are followed",
                                   field: "payload.delegatee")
        }
        return nil
    }

    private static func reaches(_ start: String, _ target: String, next: [String: Set<String>]) -> Bool {
        var seen: Set<String> = [start]
        var queue = [start]
        while let user = queue.popLast() {
            if user == target { return true }
            for following in next[user] ?? [] where seen.insert(following).inserted { queue.append(following) }
        }
        return false
    }

    /// The longest path of edges from `user` (the graph has no cycle: `check` keeps it so).
    private static func longest(from user: String, edges: [String: Set<String>], depth: Int = 0) -> Int {
        // The graph is acyclic and chains are short; the depth bound only guards stored data.
        guard depth <= maxHops + 1 else { return depth }
        return (edges[user] ?? []).map { 1 + longest(from: $0, edges: edges, depth: depth + 1) }.max() ?? 0
    }
}
