public import Contracts
import CrmCore
public import CrmKit
import CrmRedis
import Foundation
public import Hummingbird
import HTTPTypes
import NIOCore
public import Prometheus
import RedisClient

/// The gateway's HTTP surface: the `/v1` JSON API (reads here, writes in ApiRoutes.swift), health
/// and metrics, and the server-rendered pages (PageRoutes.swift). Every route the API registers on
/// `router` is described in OpenAPIDocument.swift; a test holds the two together.
public struct GatewayRoutes: Sendable {
    let client: CrmClient
    let store: CrmStore
    let registry: PrometheusCollectorRegistry
    let settings: GatewaySettings
    let rateLimiter: RateLimiter

    public init(client: CrmClient, registry: PrometheusCollectorRegistry, settings: GatewaySettings = GatewaySettings()) {
        self.client = client
        self.store = CrmStore(pool: client.pool)
        self.registry = registry
        self.settings = settings
        self.rateLimiter = RateLimiter(perMinute: settings.rateLimitPerMinute, burst: settings.rateLimitBurst)
    }

    public func register(on router: Router<BasicRequestContext>) {
        router.get("healthz") { _, _ in try await self.health() }
        router.get("metrics") { _, _ in try await self.metrics() }
        router.get("v1/openapi.json") { _, _ in Responses.json(.ok, OpenAPIDocument.document) }
        router.post("v1/commands") { request, context in
            try await self.authenticated(request) { caller in try await self.publish(request, caller: caller) }
        }
        router.get("v1/tenants/:tenant/leads/:id") { request, context in
            try await self.scoped(request, context) { caller in try await self.record(.lead, tenant: caller.tenant, id: context.parameters.get("id") ?? "") }
        }
        router.get("v1/tenants/:tenant/opportunities/:id") { request, context in
            try await self.scoped(request, context) { caller in try await self.record(.opportunity, tenant: caller.tenant, id: context.parameters.get("id") ?? "") }
        }
        router.get("v1/tenants/:tenant/contacts/:id") { request, context in
            try await self.scoped(request, context) { caller in try await self.contact(tenant: caller.tenant, id: context.parameters.get("id") ?? "") }
        }
        router.get("v1/tenants/:tenant/attachments/:sha256") { request, context in
            try await self.scoped(request, context) { caller in try await self.attachment(tenant: caller.tenant, sha256: context.parameters.get("sha256") ?? "") }
        }
        router.get("v1/tenants/:tenant/users/:user/queue") { request, context in
            try await self.scoped(request, context) { caller in try await self.queue(tenant: caller.tenant, user: context.parameters.get("user") ?? "", request: request) }
        }
        router.get("v1/tenants/:tenant/fields/:entity") { request, context in
            try await self.scoped(request, context) { caller in try await self.fields(tenant: caller.tenant, entity: context.parameters.get("entity") ?? "") }
        }
        router.get("v1/tenants/:tenant/:entity/:id/history") { request, context in
            try await self.scoped(request, context) { caller in
                try await self.history(tenant: caller.tenant, entity: context.parameters.get("entity") ?? "", id: context.parameters.get("id") ?? "")
            }
        }
        registerWrites(on: router)
        PageRoutes(gateway: self).register(on: router)
        registerDashboard(on: router)
    }

    /// A JSON answer (Responses.json), for route files written against the gateway itself.
    func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response { Responses.json(status, value) }

    /// The gateway's own metrics, then every live service's (from `crm:metrics:*`).
    func metrics() async throws -> Response {
        var text = registry.emitToBuffer()
        var cursor = "0"
        repeat {
            let reply = try await client.pool.send("SCAN", cursor, "MATCH", "crm:metrics:*", "COUNT", 500)
            let parts = reply.array ?? []
            cursor = parts.first?.string ?? "0"
            for key in (parts.count > 1 ? parts[1].array ?? [] : []).compactMap(\.string) where !key.hasPrefix("crm:metrics:gateway:") {
                if let bytes = try await client.pool.send("GET", key).bytes { text += bytes }
            }
        } while cursor != "0"
        return Responses.raw(.ok, text, contentType: "text/plain; version=0.0.4")
    }

    /// `GET /v1/tenants/{tenant}/leads/{id}` (or `/opportunities/{id}`): the stored record, or 404.
    func record(_ entity: EntityKind, tenant: String, id: String) async throws -> Response {
        guard Identifier.isMessageID(id) else { return Responses.problem(.badRequest, "invalid_id", "bad record id", field: "id") }
        let key = client.router.keys(forTenant: tenant).record(tenant: tenant, entity: entity.rawValue, id: id)
        guard let document = try await client.pool.send("HGET", key, "d").bytes else {
            return Responses.problem(.notFound, "not_found", "tenant '\(tenant)' has no \(entity.rawValue) '\(id)'", field: "id")
        }
        return Responses.raw(.ok, document)
    }

    /// `GET /v1/tenants/{tenant}/contacts/{id}`: the stored contact, or 404.
    func contact(tenant: String, id: String) async throws -> Response {
        guard Identifier.isMessageID(id) else { return Responses.problem(.badRequest, "invalid_id", "bad contact id", field: "id") }
        guard let contact = try await store.contact(shard: client.router.keys(forTenant: tenant), tenant: tenant, id: id) else {
            return Responses.problem(.notFound, "not_found", "tenant '\(tenant)' has no contact '\(id)'", field: "id")
        }
        return Responses.raw(.ok, CrmStore.document(contact))
    }

    /// `GET /v1/tenants/{tenant}/attachments/{sha256}`: the file, checked against its checksum (500 when altered).
    func attachment(tenant: String, sha256: String) async throws -> Response {
        guard sha256.count == 64, sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            return Responses.problem(.badRequest, "invalid_id", "bad sha256", field: "sha256")
        }
        do {
            guard let bytes = try await store.blob(shard: client.router.keys(forTenant: tenant), tenant: tenant, sha256: sha256) else {
                return Responses.problem(.notFound, "not_found", "tenant '\(tenant)' has no attachment \(sha256)", field: "sha256")
            }
            return Responses.raw(.ok, bytes, contentType: "application/octet-stream")
        } catch let error as CorruptedData {
            return Responses.problem(.internalServerError, "corrupted", error.description)
        }
    }

    /// `GET /v1/tenants/{tenant}/users/{user}/queue[?open=true|false][&limit=N][&after=subject]`.
    func queue(tenant: String, user: String, request: Request) async throws -> Response {
        guard Identifier.isActor(user) else { return Responses.problem(.badRequest, "invalid_id", "bad user id", field: "user") }
        let page = try await QueueQuery(client: client, store: store).page(
            tenant: tenant, user: user,
            onlyOpen: request.uri.queryParameters.get("open").map { $0 != "false" },
            limit: min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 100, 1), 1000),
            after: request.uri.queryParameters.get("after").map { String($0) } ?? "")
        return Responses.json(.ok, page.json)
    }

    /// `GET /v1/tenants/{tenant}/fields/{entity}`: the latest definition's fields and the custom ones
    /// (with those retired), as a create form needs them.
    func fields(tenant: String, entity: String) async throws -> Response {
        guard let kind = EntityKind(rawValue: entity) else { return Responses.problem(.badRequest, "invalid_id", "entity is lead or opportunity", field: "entity") }
        let form = try await FieldCatalog.read(store: store, shard: client.router.keys(forTenant: tenant), tenant: tenant, entity: kind)
        return Responses.json(.ok, form.json)
    }

    /// `GET /v1/tenants/{tenant}/{entity}/{id}/history`: the record's audit entries, oldest first, for that tenant only.
    func history(tenant: String, entity: String, id: String) async throws -> Response {
        guard Identifier.isName(entity), Identifier.isMessageID(id) else {
            return Responses.problem(.badRequest, "invalid_id", "bad entity or record id", field: Identifier.isName(entity) ? "id" : "entity")
        }
        let records = try await client.history(tenant: tenant, entity: entity, id: id)
        return Responses.json(.ok, .array(records.map(\.json)))
    }
}
