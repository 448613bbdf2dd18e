import Contracts
import CrmCore
import CrmKit
import CrmRedis
import Foundation
import RedisClient

/// The dashboard read from the projection the services keep (`DashboardQuery`, contracts/README.md
/// "Dashboard projection"): four filtered pages of the view's open records (pending, SLA at risk, SLA
/// breached, approval pending) and the tenant's funnel, read side by side; then the rows' names and
/// the pending approvals' actions in one pipelined round trip, since the projection holds neither.
struct ProjectionDashboardSource: DashboardSource {
    let client: CrmClient
    /// The most records the pending panel lists.
    var pendingLimit = 50
    /// The most records each alert panel (SLA at risk, SLA breached, approvals) lists.
    var alertLimit = 25

    func dashboard(for caller: Caller, view: DashboardView) async throws -> DashboardData {
        let query = DashboardQuery(pool: client.pool, router: client.router)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let tenant = caller.tenant
        var base = DashboardFilter()
        switch view.scope {
        case .mine: base.scope = .user(caller.user)
        case .team(let team): base.scope = .team(team)
        case .tenant: base.scope = .tenant
        }
        base.kind = view.stage?.kind
        base.stage = view.stage?.name
        var pendingFilter = base, atRiskFilter = base, breachedFilter = base, approvalFilter = base
        pendingFilter.limit = pendingLimit
        atRiskFilter.sla = ["at_risk"]
        breachedFilter.sla = ["breached"]
        approvalFilter.pendingApproval = true
        atRiskFilter.limit = alertLimit
        breachedFilter.limit = alertLimit
        approvalFilter.limit = alertLimit
        let filters = (pending: pendingFilter, atRisk: atRiskFilter, breached: breachedFilter, approvals: approvalFilter)
        async let pending = query.pending(tenant: tenant, filter: filters.pending, now: now)
        async let atRisk = query.pending(tenant: tenant, filter: filters.atRisk, now: now)
        async let breached = query.pending(tenant: tenant, filter: filters.breached, now: now)
        async let approvals = query.pending(tenant: tenant, filter: filters.approvals, now: now)
        async let funnel = query.funnel(tenant: tenant)
        let pages = try await (pending: pending, atRisk: atRisk, breached: breached, approvals: approvals)

        let details = try await self.details(tenant: tenant, items: pages.pending.items + pages.atRisk.items + pages.breached.items,
                                             approvals: pages.approvals.items)
        func rows(_ items: [DashboardItem]) -> [DashboardData.Row] {
            items.map { item in
                DashboardData.Row(entity: item.kind, id: item.id, title: details.titles[item.subject] ?? "", stage: item.stage, owner: item.owner,
                                  createdAt: InstantText.rfc3339(milliseconds: item.createdAt), sla: item.sla,
                                  slaDue: item.slaDue.map { InstantText.rfc3339(milliseconds: $0) },
                                  pendingActions: details.actions[item.subject] ?? [])
            }
        }
        var data = DashboardData()
        data.pending = rows(pages.pending.items)
        data.morePending = pages.pending.next != nil
        data.atRisk = rows(pages.atRisk.items)
        data.breached = rows(pages.breached.items)
        data.approvals = rows(pages.approvals.items)
        data.funnel = try await funnel.map { DashboardData.FunnelStep(entity: $0.kind, stage: $0.stage, count: $0.open) }
        return data
    }

    /// The names of `items` and `approvals` (by subject) and the pending actions of `approvals`, in one round trip.
    private func details(tenant: String, items: [DashboardItem], approvals: [DashboardItem]) async throws
        -> (titles: [String: String], actions: [String: [String]]) {
        let shard = client.router.keys(forTenant: tenant)
        var subjects: [(subject: String, kind: String, id: String)] = []
        var seen = Set<String>()
        for item in items + approvals where seen.insert(item.subject).inserted { subjects.append((item.subject, item.kind, item.id)) }
        guard !subjects.isEmpty else { return ([:], [:]) }
        let commands = subjects.map { RedisCommand("HGET", [shard.record(tenant: tenant, entity: $0.kind, id: $0.id), "d"]) }
            + approvals.map { RedisCommand("HGETALL", [shard.approvals(tenant: tenant, entity: $0.kind, id: $0.id)]) }
        let replies = try await client.pool.pipeline(commands)
        for reply in replies { if case .error(let message) = reply { throw RedisError.fromReplyText(message) } }
        var titles: [String: String] = [:]
        for (entry, reply) in zip(subjects, replies) {
            titles[entry.subject] = RecordTitle.of(reply.bytes.flatMap { try? JSONValue.parse($0) })
        }
        var actions: [String: [String]] = [:]
        for (item, reply) in zip(approvals, replies.dropFirst(subjects.count)) {
            let flat = reply.array ?? []
            actions[item.subject] = stride(from: 0, to: flat.count - 1, by: 2).compactMap { index in
                // `a:<action>` = `pending:<approval id>` until decided (`approved:…`, `rejected:…`).
                guard let field = flat[index].string, field.hasPrefix("a:"), flat[index + 1].string?.hasPrefix("pending:") == true else { return nil }
                return String(field.dropFirst(2))
            }.sorted()
        }
        return (titles, actions)
    }
}
