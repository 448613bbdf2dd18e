public import Contracts
public import CrmCore
public import RedisClient

/// One pending record as the dashboard projection holds it.
public struct DashboardItem: Sendable, Equatable {
    /// `lead:<id>` or `opportunity:<id>`.
    public let subject: String
    public let kind: String
    public let stage: String
    public let owner: String?
    public let team: String?
    /// `on_track`, `at_risk`, `breached`, or nil when no SLA clock ran in the current stage.
    public let sla: String?
    public let slaDue: Int64?
    public let pendingApprovals: Int
    public let createdAt: Int64

    public var id: String { String(subject.drop { $0 != ":" }.dropFirst()) }

    /// The item as the gateway and crmctl print it.
    public func json(now: Int64) -> JSONValue {
        var object: [String: JSONValue] = [
            "subject": .string(subject), "kind": .string(kind), "id": .string(id), "stage": .string(stage),
            "pendingApprovals": .integer(Int64(pendingApprovals)), "createdAt": .string(InstantText.rfc3339(milliseconds: createdAt)),
            "ageSeconds": .integer(max(0, now - createdAt) / 1000),
        ]
        if let owner { object["owner"] = .string(owner) }
        if let team { object["team"] = .string(team) }
        if let sla { object["sla"] = .string(sla) }
        if let slaDue { object["slaDue"] = .string(InstantText.rfc3339(milliseconds: slaDue)) }
        return .object(object)
    }

    init?(member: String, row: [UInt8]) {
        guard let value = DashboardRow(row), let kind = value.kind, let stage = value.stage else { return nil }
        subject = member
        self.kind = kind
        self.stage = stage
        owner = value.owner.flatMap { $0.isEmpty ? nil : $0 }
        team = value.team.flatMap { $0.isEmpty ? nil : $0 }
        sla = value.sla
        slaDue = value.due.map { Int64($0) }
        pendingApprovals = Int(value.approvals ?? 0)
        createdAt = Int64(value.created ?? 0)
    }
}

/// A page of pending records; `next` continues it (nil at the end). A page can hold fewer than
/// `limit` items and still have a `next` when the filters are selective: each page examines at most
/// `DashboardQuery.budget` rows, so one request never holds Redis for long.
public struct DashboardPage: Sendable {
    public let items: [DashboardItem]
    public let next: DashboardCursor?
    /// Rows examined for this page.
    public let scanned: Int
}

/// Open records in one stage of one kind.
public struct FunnelStage: Sendable, Equatable {
    public let kind: String
    public let stage: String
    public let open: Int
}

/// Reads the dashboard projection the services keep (`ShardKeys.dashboard`): pending records by
/// scope and filters, sorted and paged with cursors, and the funnel. A tenant's keys all live on its
/// shard (one slot), so a page is a few plain read commands there: the smallest index set that holds
/// every match is walked by rank and its rows read with HMGET. No script, so the gateway's read-only
/// Redis user needs no new rights.
public struct DashboardQuery: Sendable {
    public let pool: RedisPool
    public let router: ShardRouter
    let store: CrmStore
    /// Rows one page may examine at most.
    public static let budget = 20_000

    public init(pool: RedisPool, router: ShardRouter) {
        self.pool = pool
        self.router = router
        self.store = CrmStore(pool: pool)
    }

    /// The pending (open) records of `tenant` that pass `filter`, one page; `now` (ms) measures ages.
    public func pending(tenant: String, filter: DashboardFilter, now: Int64) async throws -> DashboardPage {
        let shard = router.keys(forTenant: tenant)
        let prefix = shard.dashboard(tenant: tenant)
        var owner = filter.owner
        if case .user(let user) = filter.scope {
            if let owner, owner != user { return DashboardPage(items: [], next: nil, scanned: 0) }
            owner = user
        }
        var team: String?
        if case .team(let name) = filter.scope { team = name }
        // An age bound is a bound on the creation time.
        let newest = filter.minAgeMilliseconds.map { now - $0 }
        let oldest = filter.maxAgeMilliseconds.map { now - $0 }
        let conditions = Conditions(kind: filter.kind?.rawValue, stage: filter.stage, owner: owner, team: team, sla: filter.sla,
                                    pendingApproval: filter.pendingApproval, createdFrom: oldest, createdTo: newest)

        var sets: [String]
        switch filter.sort {
        case .due:
            sets = [prefix + "due"]
        case .stage:
            sets = try await stageOrder(shard: shard, tenant: tenant, kinds: filter.kind.map { [$0] } ?? EntityKind.allCases)
                .filter { filter.stage == nil || $0.stage == filter.stage }
                .map { prefix + "stage:\($0.kind):\($0.stage)" }
            guard !sets.isEmpty else { return DashboardPage(items: [], next: nil, scanned: 0) }
        case .age, .newest:
            // Every candidate is scored by creation time and holds every match: walk the smallest one.
            var candidates = [prefix + "open"]
            if let kind = filter.kind {
                candidates.append(prefix + "open:\(kind.rawValue)")
                if let stage = filter.stage { candidates.append(prefix + "stage:\(kind.rawValue):\(stage)") }
            }
            if let owner { candidates.append(prefix + "owner:\(owner)") }
            if let team { candidates.append(prefix + "team:\(team)") }
            if filter.sla.count == 1, ["at_risk", "breached"].contains(filter.sla[0]) { candidates.append(prefix + "sla:\(filter.sla[0])") }
            if filter.pendingApproval == true { candidates.append(prefix + "approval") }
            if candidates.count > 1 {
                let sizes = try await send(candidates.map { RedisCommand("ZCARD", [$0]) }).map { $0.integer ?? 0 }
                sets = [candidates[sizes.indices.min { sizes[$0] < sizes[$1] }!]]
            } else {
                sets = candidates
            }
        }
        let walk = Walk(rows: prefix + "rows", reverse: filter.sort == .newest, matches: conditions,
                        low: filter.sort == .due ? nil : oldest, high: filter.sort == .due ? nil : newest)
        return try await walk.page(sets: sets, from: filter.cursor, limit: filter.limit, sort: filter.sort, query: self)
    }

    /// Sends commands in one round trip; an error reply throws.
    func send(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        let replies = try await pool.pipeline(commands)
        for reply in replies { if case .error(let message) = reply { throw RedisError.fromReplyText(message) } }
        return replies
    }

    /// Open records per stage, per kind: the stages of the latest definition in their order (zero
    /// included), then any other stage records still hold (started on an older definition version).
    public func funnel(tenant: String) async throws -> [FunnelStage] {
        let shard = router.keys(forTenant: tenant)
        let counts = try await store.hash(shard.dashboard(tenant: tenant) + "funnel")
        return try await stageOrder(shard: shard, tenant: tenant, kinds: EntityKind.allCases, counts: counts).map { kind, stage in
            FunnelStage(kind: kind, stage: stage, open: CrmStore.integer(counts["\(kind):\(stage)"]))
        }
    }

    /// The stages of each kind in funnel order.
    private func stageOrder(shard: ShardKeys, tenant: String, kinds: [EntityKind],
                            counts known: [String: [UInt8]]? = nil) async throws -> [(kind: String, stage: String)] {
        let counts: [String: [UInt8]]
        if let known {
            counts = known
        } else {
            counts = try await store.hash(shard.dashboard(tenant: tenant) + "funnel")
        }
        var order: [(kind: String, stage: String)] = []
        for kind in kinds {
            let defined = try await store.definition(shard: shard, tenant: tenant, entity: kind, version: nil)?.stageNames ?? []
            let others = counts.keys.filter { $0.hasPrefix("\(kind.rawValue):") }.map { String($0.dropFirst(kind.rawValue.count + 1)) }
                .filter { !defined.contains($0) && CrmStore.integer(counts["\(kind.rawValue):\($0)"]) > 0 }.sorted()
            order += (defined + others).map { (kind.rawValue, $0) }
        }
        return order
    }
}
