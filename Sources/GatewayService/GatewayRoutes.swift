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

/// The gateway's HTTP API: publish a command and get its outcome, read a record, health and metrics.
/// (The dashboard and admin pages come with the gateway issue.)
public struct GatewayRoutes: Sendable {
    let client: CrmClient
    let store: CrmStore
    let registry: PrometheusCollectorRegistry
    let maxEnvelopeBytes: Int

    public init(client: CrmClient, registry: PrometheusCollectorRegistry, maxEnvelopeBytes: Int = EnvelopeReader.defaultMaxBytes) {
        self.client = client
        self.store = CrmStore(pool: client.pool)
        self.registry = registry
        self.maxEnvelopeBytes = maxEnvelopeBytes
    }

    public func register(on router: Router<BasicRequestContext>) {
        router.get("healthz") { _, _ in try await self.health() }
        router.get("metrics") { _, _ in try await self.metrics() }
        router.get("v1/openapi.json") { _, _ in self.json(.ok, OpenAPIDocument.document) }
        router.post("v1/commands") { request, context in
            try await self.authenticated(request) { caller in try await self.publish(request, caller: caller) }
        }
        router.get("v1/tenants/:tenant/leads/:id") { request, context in
            try await self.scoped(request, context) { tenant in try await self.record(.lead, tenant: tenant, id: context.parameters.get("id") ?? "") }
        }
        router.get("v1/tenants/:tenant/opportunities/:id") { request, context in
            try await self.scoped(request, context) { tenant in try await self.record(.opportunity, tenant: tenant, id: context.parameters.get("id") ?? "") }
        }
        router.get("v1/tenants/:tenant/attachments/:sha256") { request, context in
            try await self.scoped(request, context) { tenant in try await self.attachment(tenant: tenant, sha256: context.parameters.get("sha256") ?? "") }
        }
        router.get("v1/tenants/:tenant/users/:user/queue") { request, context in
            try await self.scoped(request, context) { tenant in try await self.queue(tenant: tenant, user: context.parameters.get("user") ?? "", request: request) }
        }
        router.get("v1/tenants/:tenant/:entity/:id/history") { request, context in
            try await self.scoped(request, context) { tenant in
                try await self.history(tenant: tenant, entity: context.parameters.get("entity") ?? "", id: context.parameters.get("id") ?? "")
            }
        }
        registerDashboard(on: router)
    }

    /// Who a request acts as: the tenant and user of its API key.
    struct Caller: Sendable {
        let tenant: String
        let user: String
    }

    /// Runs `body` for a request with a working API key (`Authorization: Bearer crm.<tenant>.<secret>`),
    /// else answers 401. Keys are looked up by their SHA-256 in the tenant's directory; the key's user
    /// must be active.
    func authenticated(_ request: Request, _ body: (Caller) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            return unauthorized("send an API key: Authorization: Bearer crm.<tenant>.<secret> (crmctl apikey create)")
        }
        let key = String(header.dropFirst("Bearer ".count))
        guard let tenant = APIKey.tenant(of: key), Identifier.isTenant(tenant) else { return unauthorized("the API key is not one of this CRM's") }
        let shard = client.router.keys(forTenant: tenant)
        let hash = Checksum.sha256(Array(key.utf8))
        guard let stored = try await store.fields([HashRead(shard.directory(tenant: tenant), ["k:\(hash)"])])[0][0],
              let apiKey = try? CrmStore.decode(APIKey.self, stored), apiKey.active else {
            return unauthorized("unknown or revoked API key")
        }
        guard let user = try await store.directory(shard: shard, tenant: tenant, user: apiKey.userId).user, user.active else {
            return unauthorized("the API key's user is not active")
        }
        return try await body(Caller(tenant: tenant, user: apiKey.userId))
    }

    /// An authenticated read of `/v1/tenants/{tenant}/…`: another tenant's data is not found, as if it did not exist.
    func scoped(_ request: Request, _ context: BasicRequestContext, _ body: (String) async throws -> Response) async throws -> Response {
        try await authenticated(request) { caller in
            let tenant = context.parameters.get("tenant") ?? ""
            guard Identifier.isTenant(tenant) else { return problem(.badRequest, "invalid_id", "bad tenant") }
            guard tenant == caller.tenant else { return problem(.notFound, "not_found", "no such resource") }
            return try await body(tenant)
        }
    }

    private func unauthorized(_ message: String) -> Response {
        var response = problem(.unauthorized, "unauthorized", message)
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }

    /// 200 when Redis answers, 503 otherwise.
    func health() async throws -> Response {
        do {
            _ = try await client.pool.send("PING")
            return json(.ok, ["status": "ok", "redis": "ok"])
        } catch {
            return json(.serviceUnavailable, ["status": "degraded", "redis": .string("\(error)")])
        }
    }

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
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: text)))
    }

    /// `POST /v1/commands[?wait=ms]`: the body is one command envelope. 200 with `command.accepted`,
    /// 422 with `command.rejected`, 400 for an envelope that cannot be published, 504 when no outcome came in time.
    /// The envelope's tenant must be the key's (403 otherwise); its actor becomes the key's user, so a
    /// client can never act as someone else.
    func publish(_ request: Request, caller: Caller) async throws -> Response {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxEnvelopeBytes)
        } catch {
            return problem(.contentTooLarge, "too_large", "the envelope is over the limit of \(maxEnvelopeBytes) bytes")
        }
        var envelope: Envelope
        do {
            envelope = try EnvelopeReader(maxBytes: maxEnvelopeBytes).read(Array(buffer: body))
        } catch {
            return problem(.badRequest, error.reason, error.description)
        }
        guard envelope.kind == .command else { return problem(.badRequest, "wrong_stream", "\(envelope.type) is an event; only commands can be published") }
        guard envelope.tenant == caller.tenant else {
            return problem(.forbidden, "wrong_tenant", "this API key belongs to tenant '\(caller.tenant)', not '\(envelope.tenant)'")
        }
        envelope.actor = caller.user
        guard CommandRouting.stream(forType: envelope.type) != nil else {
            return problem(.badRequest, "unknown_type", "no command stream takes '\(envelope.type)'")
        }
        // A type or version no service knows would only reach a DLQ and leave the caller waiting.
        do {
            _ = try MessageCatalog.v1.accept(envelope, consumer: "gateway")
        } catch {
            return problem(.badRequest, error.reason, error.description)
        }
        let waitMilliseconds = request.uri.queryParameters.get("wait", as: Int.self) ?? 10_000
        do {
            let result = try await client.send(envelope, timeout: .milliseconds(min(max(waitMilliseconds, 1), 60_000)))
            return raw(result.accepted ? .ok : .unprocessableContent, result.outcome.encoded())
        } catch let error as CrmClientError {
            return problem(.gatewayTimeout, "no_outcome", error.description)
        }
    }

    /// `GET /v1/tenants/{tenant}/leads/{id}` (or `/opportunities/{id}`): the stored record, or 404.
    func record(_ entity: EntityKind, tenant: String, id: String) async throws -> Response {
        guard Identifier.isTenant(tenant), Identifier.isMessageID(id) else { return problem(.badRequest, "invalid_id", "bad tenant or record id") }
        let key = client.router.keys(forTenant: tenant).record(tenant: tenant, entity: entity.rawValue, id: id)
        guard let document = try await client.pool.send("HGET", key, "d").bytes else {
            return problem(.notFound, "not_found", "tenant '\(tenant)' has no \(entity.rawValue) '\(id)'")
        }
        return raw(.ok, document)
    }

    /// `GET /v1/tenants/{tenant}/attachments/{sha256}`: the file, checked against its checksum (500 when altered).
    func attachment(tenant: String, sha256: String) async throws -> Response {
        guard Identifier.isTenant(tenant), sha256.count == 64, sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            return problem(.badRequest, "invalid_id", "bad tenant or sha256")
        }
        do {
            guard let bytes = try await store.blob(shard: client.router.keys(forTenant: tenant), tenant: tenant, sha256: sha256) else {
                return problem(.notFound, "not_found", "tenant '\(tenant)' has no attachment \(sha256)")
            }
            var headers = HTTPFields()
            headers[.contentType] = "application/octet-stream"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        } catch let error as CorruptedData {
            return problem(.internalServerError, "corrupted", error.description)
        }
    }

    /// `GET /v1/tenants/{tenant}/users/{user}/queue[?open=true|false][&limit=N][&after=subject]`: the
    /// records assigned to a user (the queue assignment-service keeps, not a scan), each with its
    /// current stage, sorted by subject, a page at a time; `next` is the `after` of the next page.
    func queue(tenant: String, user: String, request: Request) async throws -> Response {
        guard Identifier.isActor(user) else { return problem(.badRequest, "invalid_id", "bad user id") }
        let limit = min(max(request.uri.queryParameters.get("limit", as: Int.self) ?? 100, 1), 1000)
        let onlyOpen = request.uri.queryParameters.get("open").map { $0 != "false" }
        let after = request.uri.queryParameters.get("after").map { String($0) } ?? ""
        let shard = client.router.keys(forTenant: tenant)
        let fields = try await store.hash(shard.queue(tenant: tenant, user: user))
        var entries = fields.filter { $0.key.hasPrefix("r:") && !$0.value.isEmpty }
            .compactMap { try? CrmStore.decode(QueueEntry.self, $0.value) }
            .filter { onlyOpen == nil || $0.open == onlyOpen }
            .sorted { $0.subject < $1.subject }
        if !after.isEmpty { entries = entries.filter { $0.subject > after } }
        let page = Array(entries.prefix(limit))
        let reads = page.map { entry -> HashRead in
            let parts = entry.subject.split(separator: ":", maxSplits: 1).map(String.init)
            return HashRead(shard.record(tenant: tenant, entity: parts.first ?? "", id: parts.last ?? ""), ["d"])
        }
        let records = try await store.fields(reads)
        let items: [JSONValue] = zip(page, records).map { entry, read in
            let stage = read[0].flatMap { try? JSONValue.parse($0) }?["stage"] ?? .null
            return ["subject": .string(entry.subject), "assignedAt": .string(entry.assignedAt), "open": .bool(entry.open), "stage": stage]
        }
        let open = Int64(CrmStore.integer(fields["n"]))
        var body: [String: JSONValue] = ["user": .string(user), "open": .integer(open), "items": .array(items)]
        if entries.count > limit, let last = page.last { body["next"] = .string(last.subject) }
        return json(.ok, .object(body))
    }

    /// `GET /v1/tenants/{tenant}/{entity}/{id}/history`: the record's audit entries, oldest first, for that tenant only.
    func history(tenant: String, entity: String, id: String) async throws -> Response {
        guard Identifier.isTenant(tenant), Identifier.isName(entity), Identifier.isMessageID(id) else {
            return problem(.badRequest, "invalid_id", "bad tenant, entity or record id")
        }
        let records = try await client.history(tenant: tenant, entity: entity, id: id)
        return json(.ok, .array(records.map(\.json)))
    }

    func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response { raw(status, value.compactJSON) }

    private func problem(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        json(status, ["error": ["code": .string(code), "message": .string(message)]])
    }

    private func raw(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
