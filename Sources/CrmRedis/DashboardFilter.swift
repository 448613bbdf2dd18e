public import Contracts
public import CrmCore
import Foundation

/// What a dashboard page asks for: whose records (scope), which ones (filters), in which order, and
/// where the previous page stopped. Parsed from query parameters by `parse`, so the gateway, crmctl
/// and the web pages refuse the same bad input with the same code and field.
public struct DashboardFilter: Sendable, Equatable {
    public enum Scope: Sendable, Equatable {
        case tenant
        case user(String)
        case team(String)
    }

    public enum Sort: String, Sendable, CaseIterable {
        /// Oldest first (the longest waiting).
        case age
        /// Newest first.
        case newest
        /// Earliest SLA deadline first; only records with a running SLA clock.
        case due
        /// By stage in the definition's order (leads, then opportunities), oldest first within a stage.
        case stage
    }

    /// The SLA states a filter may ask for; `none` = no SLA clock ran in the current stage.
    public static let slaStates = ["on_track", "at_risk", "breached", "none"]
    public static let maximumLimit = 1000

    public var scope: Scope = .tenant
    public var kind: EntityKind?
    public var stage: String?
    public var owner: String?
    /// Any of these SLA states.
    public var sla: [String] = []
    /// true: only records with a pending approval; false: only those without.
    public var pendingApproval: Bool?
    public var minAgeMilliseconds: Int64?
    public var maxAgeMilliseconds: Int64?
    public var sort: Sort = .age
    public var limit = 100
    /// The `next` of the previous page.
    public var cursor: DashboardCursor?

    public init() {}

    /// Reads query parameters (`scope`, `user`, `team`, `kind`, `stage`, `owner`, `sla`, `approval`,
    /// `minAge`, `maxAge` as ISO 8601 durations, `sort`, `limit`, `cursor`); `caller` is the user a
    /// `scope=user` without `user` means.
    public static func parse(_ parameters: [String: String], caller: String?) throws(DashboardQueryError) -> DashboardFilter {
        let known: Set<String> = ["scope", "user", "team", "kind", "stage", "owner", "sla", "approval", "minAge", "maxAge", "sort", "limit", "cursor"]
        if let unknown = parameters.keys.sorted().first(where: { !known.contains($0) }) {
            throw DashboardQueryError("unknown_parameter", field: unknown, "no parameter '\(unknown)'; known: \(known.sorted().joined(separator: ", "))")
        }
        var filter = DashboardFilter()
        switch parameters["scope"] ?? "tenant" {
        case "tenant": break
        case "user":
            guard let user = parameters["user"] ?? caller, Identifier.isActor(user) else {
                throw DashboardQueryError("invalid_parameter", field: "user", "scope=user needs a valid user id")
            }
            filter.scope = .user(user)
        case "team":
            guard let team = parameters["team"], Identifier.isName(team) else {
                throw DashboardQueryError("invalid_parameter", field: "team", "scope=team needs team=<name>")
            }
            filter.scope = .team(team)
        case let other:
            throw DashboardQueryError("invalid_parameter", field: "scope", "scope '\(other)' is not tenant, user or team")
        }
        if let kind = parameters["kind"] {
            guard let entity = EntityKind(rawValue: kind) else {
                throw DashboardQueryError("invalid_parameter", field: "kind", "kind '\(kind)' is not lead or opportunity")
            }
            filter.kind = entity
        }
        if let stage = parameters["stage"] {
            guard Identifier.isName(stage) else { throw DashboardQueryError("invalid_parameter", field: "stage", "'\(stage)' is not a stage name") }
            filter.stage = stage
        }
        if let owner = parameters["owner"] {
            guard Identifier.isActor(owner) else { throw DashboardQueryError("invalid_parameter", field: "owner", "'\(owner)' is not a user id") }
            filter.owner = owner
        }
        if let sla = parameters["sla"] {
            let states = sla.split(separator: ",").map(String.init)
            guard !states.isEmpty, states.allSatisfy(slaStates.contains) else {
                throw DashboardQueryError("invalid_parameter", field: "sla", "sla takes a comma-separated list of \(slaStates.joined(separator: ", "))")
            }
            filter.sla = Array(Set(states)).sorted()
        }
        if let approval = parameters["approval"] {
            switch approval {
            case "pending": filter.pendingApproval = true
            case "none": filter.pendingApproval = false
            default: throw DashboardQueryError("invalid_parameter", field: "approval", "approval is pending or none")
            }
        }
        filter.minAgeMilliseconds = try duration(parameters["minAge"], field: "minAge")
        filter.maxAgeMilliseconds = try duration(parameters["maxAge"], field: "maxAge")
        if let low = filter.minAgeMilliseconds, let high = filter.maxAgeMilliseconds, low > high {
            throw DashboardQueryError("invalid_parameter", field: "maxAge", "maxAge is shorter than minAge")
        }
        if let sort = parameters["sort"] {
            guard let value = Sort(rawValue: sort) else {
                throw DashboardQueryError("invalid_parameter", field: "sort", "sort is one of \(Sort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.sort = value
        }
        if let limit = parameters["limit"] {
            guard let value = Int(limit), (1...maximumLimit).contains(value) else {
                throw DashboardQueryError("invalid_parameter", field: "limit", "limit is an integer from 1 to \(maximumLimit)")
            }
            filter.limit = value
        }
        if let cursor = parameters["cursor"] {
            guard let value = DashboardCursor(token: cursor), value.sort == filter.sort else {
                throw DashboardQueryError("invalid_cursor", field: "cursor", "not a cursor of this query: pass the `next` of the previous page, with the same sort")
            }
            filter.cursor = value
        }
        return filter
    }

    private static func duration(_ text: String?, field: String) throws(DashboardQueryError) -> Int64? {
        guard let text else { return nil }
        do {
            return try ISODuration.parse(text).milliseconds
        } catch {
            throw DashboardQueryError("invalid_parameter", field: field, "\(field) is an ISO 8601 duration such as PT2H or P3D")
        }
    }
}

/// Where a page stopped: the driving set's segment, and the last record's score and member. Opaque to
/// clients (base64url); stable under inserts because the next page starts after this record, not at
/// an offset.
public struct DashboardCursor: Sendable, Equatable {
    public let sort: DashboardFilter.Sort
    public let segment: Int
    public let score: String
    public let member: String

    public init(sort: DashboardFilter.Sort, segment: Int, score: String, member: String) {
        self.sort = sort
        self.segment = segment
        self.score = score
        self.member = member
    }

    public var token: String {
        Data("\(sort.rawValue)|\(segment)|\(score)|\(member)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public init?(token: String) {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard token.count <= 600, let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, let sort = DashboardFilter.Sort(rawValue: parts[0]), let segment = Int(parts[1]), segment >= 0, segment < 10_000,
              Double(parts[2])?.isFinite == true, parts[3].contains(":") else { return nil }
        self.init(sort: sort, segment: segment, score: parts[2], member: parts[3])
    }
}

/// A dashboard query refused: `code` (`invalid_parameter`, `invalid_cursor`, `unknown_parameter`) and the parameter at fault.
public struct DashboardQueryError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let field: String
    public let message: String

    public init(_ code: String, field: String, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { "\(code) (\(field)): \(message)" }
}
