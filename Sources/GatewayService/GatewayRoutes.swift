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
        router.post("v1/commands") { request, context in try await self.publish(request, context: context) }
        router.get("v1/tenants/:tenant/leads/:id") { _, context in
            try await self.record(.lead, tenant: context.parameters.get("tenant") ?? "", id: context.parameters.get("id") ?? "")
        }
        router.get("v1/tenants/:tenant/opportunities/:id") { _, context in
            try await self.record(.opportunity, tenant: context.parameters.get("tenant") ?? "", id: context.parameters.get("id") ?? "")
        }
        router.get("v1/tenants/:tenant/attachments/:sha256") { _, context in
            try await self.attachment(tenant: context.parameters.get("tenant") ?? "", sha256: context.parameters.get("sha256") ?? "")
        }
        router.get("v1/tenants/:tenant/:entity/:id/history") { _, context in
            try await self.history(tenant: context.parameters.get("tenant") ?? "", entity: context.parameters.get("entity") ?? "",
                                   id: context.parameters.get("id") ?? "")
        }
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
    func publish(_ request: Request, context: BasicRequestContext) async throws -> Response {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: maxEnvelopeBytes)
        } catch {
            return problem(.contentTooLarge, "too_large", "the envelope is over the limit of \(maxEnvelopeBytes) bytes")
        }
        let envelope: Envelope
        do {
            envelope = try EnvelopeReader(maxBytes: maxEnvelopeBytes).read(Array(buffer: body))
        } catch {
            return problem(.badRequest, error.reason, error.description)
        }
        guard envelope.kind == .command else { return problem(.badRequest, "wrong_stream", "\(envelope.type) is an event; only commands can be published") }
        guard CommandRouting.stream(forType: envelope.type) != nil else {
            return problem(.badRequest, "unknown_type", "no command stream takes '\(envelope.type)'")
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

    /// `GET /v1/tenants/{tenant}/{entity}/{id}/history`: the record's audit entries, oldest first, for that tenant only.
    func history(tenant: String, entity: String, id: String) async throws -> Response {
        guard Identifier.isTenant(tenant), Identifier.isName(entity), Identifier.isMessageID(id) else {
            return problem(.badRequest, "invalid_id", "bad tenant, entity or record id")
        }
        let records = try await client.history(tenant: tenant, entity: entity, id: id)
        return json(.ok, .array(records.map(\.json)))
    }

    private func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response { raw(status, value.compactJSON) }

    private func problem(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        json(status, ["error": ["code": .string(code), "message": .string(message)]])
    }

    private func raw(_ status: HTTPResponse.Status, _ bytes: [UInt8]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
