import Contracts
import CrmCore
import CrmRedis

/// What the sales manager's dashboard shows. The page renders this and nothing else, so where the
/// numbers come from is the source's business alone.
struct DashboardData: Sendable {
    /// One open record of a panel; `title` is "" when the record has no name.
    struct Row: Sendable {
        let entity: String
        let id: String
        let title: String
        let stage: String
        let owner: String?
        /// RFC 3339.
        let createdAt: String
        /// `on_track`, `at_risk`, `breached`, or nil when no SLA clock runs in the stage.
        let sla: String?
        /// RFC 3339, the earliest deadline of the record's running SLA clocks.
        let slaDue: String?
        /// The actions waiting for approval, by name (empty outside the approvals panel).
        let pendingActions: [String]
    }

    struct FunnelStep: Sendable {
        let entity: String
        let stage: String
        let count: Int
    }

    var pending: [Row] = []
    /// More pending records match than the panel lists.
    var morePending = false
    var funnel: [FunnelStep] = []
    var atRisk: [Row] = []
    var breached: [Row] = []
    var approvals: [Row] = []
}

/// Whose records the dashboard shows and which stage: the page's `scope` and `stage` query parameters.
struct DashboardView: Sendable {
    enum Scope: Sendable, Equatable {
        /// The records the caller owns.
        case mine
        case team(String)
        case tenant
    }

    var scope: Scope = .mine
    /// Only records of this kind in this stage.
    var stage: (kind: EntityKind, name: String)?

    /// `scope=mine|team|team:<name>|tenant` (`team` alone: the caller's first team) and
    /// `stage=<kind>:<stage>` (empty: every stage). A bad value is refused with its code and parameter.
    static func parse(_ parameters: [String: String], caller: Caller) throws(DashboardQueryError) -> DashboardView {
        if let unknown = parameters.keys.sorted().first(where: { !["scope", "stage"].contains($0) }) {
            throw DashboardQueryError("unknown_parameter", field: unknown, "no parameter '\(unknown)'; known: scope, stage")
        }
        var view = DashboardView()
        switch parameters["scope"] ?? "mine" {
        case "mine": break
        case "tenant": view.scope = .tenant
        case "team":
            guard let team = caller.teams.first else {
                throw DashboardQueryError("invalid_parameter", field: "scope", "you are in no team; choose scope=team:<name>")
            }
            view.scope = .team(team)
        case let other where other.hasPrefix("team:") && Identifier.isName(String(other.dropFirst(5))):
            view.scope = .team(String(other.dropFirst(5)))
        case let other:
            throw DashboardQueryError("invalid_parameter", field: "scope", "scope '\(other)' is not mine, team, team:<name> or tenant")
        }
        if let stage = parameters["stage"], !stage.isEmpty {
            let parts = stage.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let kind = EntityKind(rawValue: parts[0]), Identifier.isName(parts[1]) else {
                throw DashboardQueryError("invalid_parameter", field: "stage", "stage '\(stage)' is not <lead|opportunity>:<stage name>")
            }
            view.stage = (kind, parts[1])
        }
        return view
    }

    /// The value of the `scope` parameter that asks for this view.
    var scopeParameter: String {
        switch scope {
        case .mine: return "mine"
        case .team(let name): return "team:\(name)"
        case .tenant: return "tenant"
        }
    }

    /// The value of the `stage` parameter ("" for every stage).
    var stageParameter: String { stage.map { "\($0.kind.rawValue):\($0.name)" } ?? "" }
}

/// Where the dashboard's numbers come from.
protocol DashboardSource: Sendable {
    func dashboard(for caller: Caller, view: DashboardView) async throws -> DashboardData
}
