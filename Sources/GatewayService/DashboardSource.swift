import Contracts
import CrmCore
import CrmKit
import CrmRedis
import Foundation

/// What the sales manager's dashboard shows. The page renders this and nothing else, so where the
/// numbers come from is this file's business alone.
struct DashboardData: Sendable {
    struct PendingRecord: Sendable {
        let entity: String
        let id: String
        let stage: String
        let title: String
        let assignedAt: String
    }

    struct FunnelStep: Sendable {
        let entity: String
        let stage: String
        let count: Int
    }

    struct SlaAlert: Sendable {
        let entity: String
        let id: String
        let policy: String
        let stage: String
        let status: String
        let deadline: String
    }

    struct PendingApproval: Sendable {
        let entity: String
        let id: String
        let action: String
    }

    var pending: [PendingRecord] = []
    var funnel: [FunnelStep] = []
    var atRisk: [SlaAlert] = []
    var breached: [SlaAlert] = []
    var approvals: [PendingApproval] = []
}

/// Where the dashboard's numbers come from.
protocol DashboardSource: Sendable {
    func dashboard(for caller: Caller) async throws -> DashboardData
}

/// The dashboard built from the caller's own queue (assignment-service's projection): the open records
/// assigned to them with their stages, the funnel counted over those records, their pending approvals
/// (`approvals:<entity>:<id>`) and their running SLA clocks (`timers:clocks`, by the definition's
/// policies). One pipelined read per kind of key, no scans.
struct QueueDashboardSource: DashboardSource {
    let client: CrmClient
    let store: CrmStore
    /// The most records one page shows.
    var limit = 500

    func dashboard(for caller: Caller) async throws -> DashboardData {
        let shard = client.router.keys(forTenant: caller.tenant)
        let page = try await QueueQuery(client: client, store: store).page(tenant: caller.tenant, user: caller.user, onlyOpen: true, limit: limit, after: "")
        var data = DashboardData()
        data.pending = page.items.map { item in
            DashboardData.PendingRecord(entity: item.entity, id: item.id, stage: item.stage.stringValue ?? "?",
                                        title: Self.title(of: item.record), assignedAt: item.assignedAt)
        }
        // The funnel: open records per stage, in the order of each entity's definition.
        var stageOrder: [String: [String]] = [:]
        var policies: [String: [String]] = [:]
        for entity in Set(data.pending.map(\.entity)) {
            guard let kind = EntityKind(rawValue: entity) else { continue }
            let catalog = try await FieldCatalog.read(store: store, shard: shard, tenant: caller.tenant, entity: kind)
            stageOrder[entity] = catalog.definition?.stages.map(\.name) ?? []
            policies[entity] = catalog.definition?.sla.map(\.name) ?? []
        }
        var counts: [String: [String: Int]] = [:]
        for record in data.pending { counts[record.entity, default: [:]][record.stage, default: 0] += 1 }
        for entity in counts.keys.sorted() {
            let order = stageOrder[entity] ?? []
            let stages = order.filter { counts[entity]?[$0] != nil } + (counts[entity] ?? [:]).keys.filter { !order.contains($0) }.sorted()
            data.funnel += stages.map { DashboardData.FunnelStep(entity: entity, stage: $0, count: counts[entity]?[$0] ?? 0) }
        }
        // Pending approvals of the queued records.
        for record in data.pending {
            let key = shard.approvals(tenant: caller.tenant, entity: record.entity, id: record.id)
            for (field, value) in try await store.hash(key) where field.hasPrefix("a:") && String(decoding: value, as: UTF8.self) == "pending" {
                data.approvals.append(.init(entity: record.entity, id: record.id, action: String(field.dropFirst(2))))
            }
        }
        // SLA clocks of the queued records, one field per policy of their definition.
        var members: [(DashboardData.PendingRecord, String)] = []
        for record in data.pending {
            for policy in policies[record.entity] ?? [] { members.append((record, "\(caller.tenant):\(record.entity):\(record.id):\(policy)")) }
        }
        if !members.isEmpty {
            let values = try await store.fields([HashRead(shard.slaClocks, members.map(\.1))])[0]
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            for ((record, _), bytes) in zip(members, values) {
                guard let bytes, let state = try? CrmStore.decode(SlaClockState.self, bytes) else { continue }
                let status = Self.status(of: state, now: now)
                let deadline = Envelope.timestamp(Date(timeIntervalSince1970: Double(state.deadline) / 1000))
                let alert = DashboardData.SlaAlert(entity: record.entity, id: record.id, policy: state.policy, stage: state.stage, status: status.rawValue, deadline: deadline)
                if status == .breached { data.breached.append(alert) } else if status == .atRisk { data.atRisk.append(alert) }
            }
        }
        return data
    }

    /// Where a clock stands now; a calendar's working hours are judged by the stored breach instant.
    static func status(of state: SlaClockState, now: Int64) -> SlaStatus {
        let wall = (try? state.clock.status(at: now, on: SlaTimeline())) ?? .onTrack
        if wall == .met || wall == .paused { return wall }
        if now >= state.deadline { return .breached }
        return state.calendar == nil ? wall : .onTrack
    }

    /// A record's name for a person: its `name`, `title` or `company` field, else nothing.
    static func title(of record: JSONValue?) -> String {
        for field in ["name", "title", "company"] { if let text = record?["data"]?[field]?.stringValue { return text } }
        return ""
    }
}
