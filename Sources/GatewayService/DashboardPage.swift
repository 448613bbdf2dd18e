import Mustache
import CrmKit
import Hummingbird

extension PageRoutes {
    /// `GET /` (the whole page) and `GET /dashboard/panel` (what the page's script swaps in every `refreshSeconds`).
    func dashboard(_ session: PageSession, panelOnly: Bool) async throws -> Response {
        let data = try await dashboardSource.dashboard(for: session.caller)
        let most = max(data.funnel.map(\.count).max() ?? 1, 1)
        func alerts(_ list: [DashboardData.SlaAlert]) -> [[String: Any]] {
            list.map { ["entity": $0.entity, "id": $0.id, "policy": $0.policy, "stage": $0.stage, "status": $0.status, "deadline": $0.deadline] }
        }
        let context: [String: Any] = [
            "refreshSeconds": refreshSeconds,
            "pendingCount": data.pending.count,
            "hasPending": !data.pending.isEmpty,
            "pending": data.pending.map { ["entity": $0.entity, "id": $0.id, "stage": $0.stage, "title": $0.title, "assignedAt": $0.assignedAt] },
            "hasFunnel": !data.funnel.isEmpty,
            "funnel": data.funnel.map { ["entity": $0.entity, "stage": $0.stage, "count": $0.count, "max": most] as [String: Any] },
            "atRiskCount": data.atRisk.count,
            "atRisk": alerts(data.atRisk),
            "breachedCount": data.breached.count,
            "breached": alerts(data.breached),
            "approvalCount": data.approvals.count,
            "approvals": data.approvals.map { ["entity": $0.entity, "id": $0.id, "action": $0.action] },
        ]
        if panelOnly {
            return Responses.html(.ok, PageTemplates.library.render(context, withTemplate: "dashboardPanel") ?? "")
        }
        return render("dashboard", title: "Dashboard", context: context, session: session.layout)
    }
}
