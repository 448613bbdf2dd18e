import Contracts
import CrmKit
import CrmRedis
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /v1/tenants/{tenant}/dashboard/pending` and `/dashboard/funnel`: the dashboard projection the
/// services keep (FUN-CRM-0281, USE-CRM-0557), read with `DashboardQuery`.
extension GatewayRoutes {
    func registerDashboard(on router: Router<BasicRequestContext>) {
        router.get("v1/tenants/:tenant/dashboard/pending") { request, context in
            try await self.dashboardScoped(request, context) { tenant, caller in try await self.pending(tenant: tenant, caller: caller, request: request) }
        }
        router.get("v1/tenants/:tenant/dashboard/funnel") { request, context in
            try await self.dashboardScoped(request, context) { tenant, _ in try await self.funnel(tenant: tenant) }
        }
    }

    /// As `scoped`, and passes on the caller (a `scope=user` without `user` means the key's user).
    private func dashboardScoped(_ request: Request, _ context: BasicRequestContext,
                                 _ body: (String, Caller) async throws -> Response) async throws -> Response {
        try await authenticated(request) { caller in
            let tenant = context.parameters.get("tenant") ?? ""
            guard Identifier.isTenant(tenant) else { return dashboardProblem(.badRequest, DashboardQueryError("invalid_id", field: "tenant", "bad tenant")) }
            guard tenant == caller.tenant else { return json(.notFound, ["error": ["code": "not_found", "message": "no such resource"]]) }
            return try await body(tenant, caller)
        }
    }

    /// `?scope=tenant|user|team&user=&team=&kind=&stage=&owner=&sla=&approval=&minAge=&maxAge=&sort=&limit=&cursor=`
    /// → `{items: […], next?, scanned}`; a bad parameter is 400 with its code and field.
    func pending(tenant: String, caller: Caller, request: Request) async throws -> Response {
        var parameters: [String: String] = [:]
        for (name, value) in request.uri.queryParameters { parameters[String(name)] = String(value) }
        let filter: DashboardFilter
        do {
            filter = try DashboardFilter.parse(parameters, caller: caller.user)
        } catch {
            return dashboardProblem(.badRequest, error)
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let page = try await DashboardQuery(pool: client.pool, router: client.router).pending(tenant: tenant, filter: filter, now: now)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: page.json(now: now))))
    }

    /// `{funnel: {lead: [{stage, open}…], opportunity: […]}, open: {lead: n, opportunity: n}}`.
    func funnel(tenant: String) async throws -> Response {
        let stages = try await DashboardQuery(pool: client.pool, router: client.router).funnel(tenant: tenant)
        var funnel: [String: JSONValue] = [:]
        var totals: [String: JSONValue] = [:]
        for kind in ["lead", "opportunity"] {
            let ofKind = stages.filter { $0.kind == kind }
            funnel[kind] = .array(ofKind.map { ["stage": .string($0.stage), "open": .integer(Int64($0.open))] })
            totals[kind] = .integer(Int64(ofKind.reduce(0) { $0 + $1.open }))
        }
        return json(.ok, ["funnel": .object(funnel), "open": .object(totals)])
    }

    private func dashboardProblem(_ status: HTTPResponse.Status, _ error: DashboardQueryError) -> Response {
        json(status, ["error": ["code": .string(error.code), "message": .string(error.message), "field": .string(error.field)]])
    }
}
