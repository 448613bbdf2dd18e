import Mustache
import CrmCore
import CrmKit
import CrmRedis
import Foundation
import Hummingbird

extension PageRoutes {
    /// `GET /?scope=&stage=` (the whole page) and `GET /dashboard/panel?scope=&stage=` (what the page's
    /// script swaps in every `refreshSeconds`, with the same parameters). A bad parameter is 400 with its code and field.
    func dashboard(_ session: PageSession, request: Request, panelOnly: Bool) async throws -> Response {
        var parameters: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { parameters[String(name)] = String(value) }
        let view: DashboardView
        do {
            view = try DashboardView.parse(parameters, caller: session.caller)
        } catch {
            let text = "\(error.message) (\(error.code), parameter \(error.field))."
            if panelOnly { return Responses.html(.badRequest, "<p role=\"alert\">\(Self.escape(text))</p>") }
            return render("message", title: "Bad request", status: .badRequest,
                          context: ["heading": "Bad request", "text": text, "link": "/", "linkText": "Dashboard"], session: session.layout)
        }
        let data = try await dashboardSource.dashboard(for: session.caller, view: view)
        let most = max(data.funnel.map(\.count).max() ?? 1, 1)
        func rows(_ list: [DashboardData.Row]) -> [[String: Any]] {
            list.map { row in
                var context: [String: Any] = ["entity": row.entity, "id": row.id, "stage": row.stage, "createdAt": row.createdAt,
                                              "owner": row.owner ?? "—", "actions": row.pendingActions.joined(separator: ", ")]
                if !row.title.isEmpty { context["title"] = row.title }
                if let sla = row.sla { context["sla"] = sla }
                if let due = row.slaDue { context["slaDue"] = due }
                return context
            }
        }
        var scopes: [(value: String, label: String)] = [("mine", "My records")]
        var teams = session.caller.teams
        if case .team(let team) = view.scope, !teams.contains(team) { teams.append(team) }
        scopes += teams.map { ("team:\($0)", "Team \($0)") }
        scopes.append(("tenant", "Whole tenant"))
        let stages = [("", "Every stage")] + data.funnel.map { ("\($0.entity):\($0.stage)", "\($0.entity): \($0.stage)") }
        let whose: String
        switch view.scope {
        case .mine: whose = "yours"
        case .team(let team): whose = "team \(team)"
        case .tenant: whose = "the whole tenant"
        }
        var context: [String: Any] = [
            "refreshSeconds": refreshSeconds,
            "panelQuery": Self.query(["scope": view.scopeParameter, "stage": view.stageParameter]),
            "scopes": scopes.map { ["value": $0.value, "label": $0.label, "selected": $0.value == view.scopeParameter] as [String: Any] },
            "stages": stages.map { ["value": $0.0, "label": $0.1, "selected": $0.0 == view.stageParameter] as [String: Any] },
            "whose": whose,
            "pendingCount": data.morePending ? "first \(data.pending.count)" : "\(data.pending.count)",
            "hasPending": !data.pending.isEmpty,
            "pending": rows(data.pending),
            "hasFunnel": !data.funnel.isEmpty,
            "funnel": data.funnel.map { ["entity": $0.entity, "stage": $0.stage, "count": $0.count, "max": most] as [String: Any] },
            "atRiskCount": data.atRisk.count,
            "atRisk": rows(data.atRisk),
            "breachedCount": data.breached.count,
            "breached": rows(data.breached),
            "approvalCount": data.approvals.count,
            "approvals": rows(data.approvals),
        ]
        if let stage = view.stage { context["stageName"] = "\(stage.kind.rawValue) \(stage.name)" }
        if panelOnly {
            return Responses.html(.ok, PageTemplates.library.render(context, withTemplate: "dashboardPanel") ?? "")
        }
        return render("dashboard", title: "Dashboard", context: context, session: session.layout)
    }

    /// `name=value&…`, values percent-encoded.
    static func query(_ parameters: [String: String]) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#")
        return parameters.sorted { $0.key < $1.key }.filter { !$0.value.isEmpty }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
