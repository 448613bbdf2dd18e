import Contracts
import CrmCore
import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// The `/v1` writes: each turns a JSON body into one command of contracts/v1, publishes it as the
/// key's user and answers with its outcome (CommandSender.swift). Bodies are the command's payload;
/// the record id comes from the path (or is made up for a create that names none).
extension GatewayRoutes {
    func registerWrites(on router: Router<BasicRequestContext>) {
        // Spelled out one by one: the OpenAPI test reads these lines.
        router.post("v1/tenants/:tenant/leads") { request, context in try await self.create(.lead, request, context) }
        router.patch("v1/tenants/:tenant/leads/:id") { request, context in try await self.change(.lead, "update", request, context) }
        router.post("v1/tenants/:tenant/leads/:id/actions") { request, context in try await self.change(.lead, "apply", request, context) }
        router.post("v1/tenants/:tenant/opportunities") { request, context in try await self.create(.opportunity, request, context) }
        router.patch("v1/tenants/:tenant/opportunities/:id") { request, context in try await self.change(.opportunity, "update", request, context) }
        router.post("v1/tenants/:tenant/opportunities/:id/actions") { request, context in try await self.change(.opportunity, "apply", request, context) }
        router.post("v1/tenants/:tenant/contacts") { request, context in
            try await self.write(request, context, type: "contact.add", idField: "contactId", newID: Self.newID(for: "contact"))
        }
        router.patch("v1/tenants/:tenant/contacts/:id") { request, context in
            try await self.write(request, context, type: "contact.update", idField: "contactId", pathID: context.parameters.get("id"))
        }
        router.post("v1/tenants/:tenant/interactions") { request, context in
            try await self.scoped(request, context) { caller in try await self.logInteraction(request, caller: caller) }
        }
        router.post("v1/tenants/:tenant/approvals/:id/votes") { request, context in
            try await self.write(request, context, type: "approval.vote", idField: "approvalId", pathID: context.parameters.get("id"))
        }
        router.put("v1/tenants/:tenant/delegations/:id") { request, context in
            try await self.write(request, context, type: "delegation.set", idField: "delegationId", pathID: context.parameters.get("id"))
        }
        router.delete("v1/tenants/:tenant/delegations/:id") { request, context in
            try await self.scoped(request, context) { caller in
                guard let id = context.parameters.get("id"), Identifier.isMessageID(id) else { return Responses.problem(.badRequest, "invalid_id", "bad delegation id", field: "id") }
                return self.answer(try await self.send("delegation.revoke", payload: ["delegationId": .string(id)], caller: caller, waitMilliseconds: self.waitParameter(request)))
            }
        }
        router.post("v1/tenants/:tenant/fields/:entity") { request, context in
            try await self.scoped(request, context) { caller in
                guard let entity = context.parameters.get("entity"), EntityKind(rawValue: entity) != nil else {
                    return Responses.problem(.badRequest, "invalid_id", "entity is lead or opportunity", field: "entity")
                }
                return try await self.withJSONObject(request) { body in
                    var payload = body
                    payload["entity"] = .string(entity)
                    return self.answer(try await self.send("fields.configure", payload: .object(payload), caller: caller, waitMilliseconds: self.waitParameter(request)))
                }
            }
        }
    }

    func create(_ entity: EntityKind, _ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try await write(request, context, type: "\(entity.rawValue).create", idField: "\(entity.rawValue)Id", newID: Self.newID(for: entity.rawValue))
    }

    func change(_ entity: EntityKind, _ verb: String, _ request: Request, _ context: BasicRequestContext) async throws -> Response {
        try await write(request, context, type: "\(entity.rawValue).\(verb)", idField: "\(entity.rawValue)Id", pathID: context.parameters.get("id"))
    }

    /// `POST /v1/commands[?wait=ms]`: the body is one command envelope. The envelope's tenant must be
    /// the key's (403 otherwise); its actor becomes the key's user, so a client can never act as someone else.
    func publish(_ request: Request, caller: Caller) async throws -> Response {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: settings.maxEnvelopeBytes)
        } catch {
            return Responses.problem(.contentTooLarge, "too_large", "the envelope is over the limit of \(settings.maxEnvelopeBytes) bytes")
        }
        var envelope: Envelope
        do {
            envelope = try EnvelopeReader(maxBytes: settings.maxEnvelopeBytes).read(Array(buffer: body))
        } catch {
            return Responses.problem(.badRequest, error.reason, error.description)
        }
        guard envelope.kind == .command else { return Responses.problem(.badRequest, "wrong_stream", "\(envelope.type) is an event; only commands can be published", field: "kind") }
        guard envelope.tenant == caller.tenant else {
            return Responses.problem(.forbidden, "wrong_tenant", "this API key belongs to tenant '\(caller.tenant)', not '\(envelope.tenant)'", field: "tenant")
        }
        envelope.actor = caller.user
        return answer(try await send(envelope, waitMilliseconds: waitParameter(request)))
    }

    /// A write whose JSON body is the command's payload; `pathID` (from the URL) or `newID` names the record.
    func write(_ request: Request, _ context: BasicRequestContext, type: String, idField: String, pathID: String? = nil, newID: String? = nil) async throws -> Response {
        try await scoped(request, context) { caller in
            try await withJSONObject(request) { body in
                var payload = body
                if let pathID {
                    guard Identifier.isMessageID(pathID) else { return Responses.problem(.badRequest, "invalid_id", "bad id in the path", field: "id") }
                    if let named = payload[idField], named != .string(pathID) {
                        return Responses.problem(.badRequest, "invalid_payload", "the body names another \(idField) than the path", field: idField)
                    }
                    payload[idField] = .string(pathID)
                } else if payload[idField] == nil, let newID {
                    payload[idField] = .string(newID)
                }
                return answer(try await send(type, payload: .object(payload), caller: caller, waitMilliseconds: waitParameter(request)))
            }
        }
    }

    /// Reads a JSON object body within the envelope limit: 413 over it, 400 for anything but an object.
    func withJSONObject(_ request: Request, _ body: ([String: JSONValue]) async throws -> Response) async throws -> Response {
        var request = request
        let bytes: ByteBuffer
        do {
            bytes = try await request.collectBody(upTo: settings.maxEnvelopeBytes)
        } catch {
            return Responses.problem(.contentTooLarge, "too_large", "the body is over the limit of \(settings.maxEnvelopeBytes) bytes")
        }
        guard let value = try? JSONValue.parse(Array(buffer: bytes)), case .object(let object) = value else {
            return Responses.problem(.badRequest, "malformed_json", "the body must be a JSON object (the command's payload)", field: "body")
        }
        return try await body(object)
    }

    /// `POST /v1/tenants/{tenant}/interactions`: `multipart/form-data` with `kind`, `subject`, `notes`,
    /// optional `interactionId` and any number of files (413 over the upload limit), or a JSON body that
    /// is interaction.log's payload.
    func logInteraction(_ request: Request, caller: Caller) async throws -> Response {
        guard let boundary = request.headers[.contentType].flatMap(MultipartForm.boundary(of:)) else {
            return try await withJSONObject(request) { body in
                var payload = body
                if payload["interactionId"] == nil { payload["interactionId"] = .string(Self.newID(for: "interaction")) }
                return answer(try await send("interaction.log", payload: .object(payload), caller: caller, waitMilliseconds: waitParameter(request)))
            }
        }
        var request = request
        let bytes: ByteBuffer
        do {
            bytes = try await request.collectBody(upTo: settings.maxUploadBytes)
        } catch {
            return Responses.problem(.contentTooLarge, "too_large", "the upload is over the limit of \(settings.maxUploadBytes) bytes", field: "attachments")
        }
        let form: MultipartForm
        do {
            form = try MultipartForm(body: Array(buffer: bytes), boundary: boundary)
        } catch {
            return Responses.problem(.badRequest, "malformed_multipart", error.description, field: "body")
        }
        let envelope = Envelope(type: "interaction.log", kind: .command, tenant: caller.tenant, actor: caller.user,
                                payload: Self.interactionPayload(form))
        // The files travel base64 inside the envelope, which the services take up to their own limit.
        guard envelope.encoded().count <= settings.maxEnvelopeBytes else {
            return Responses.problem(.contentTooLarge, "too_large", "the files make a command over the limit of \(settings.maxEnvelopeBytes) bytes", field: "attachments")
        }
        return answer(try await send(envelope, waitMilliseconds: waitParameter(request)))
    }

    static func interactionPayload(_ form: MultipartForm) -> JSONValue {
        var payload: [String: JSONValue] = ["interactionId": .string(form.text("interactionId").flatMap { $0.isEmpty ? nil : $0 } ?? newID(for: "interaction"))]
        for name in ["kind", "subject", "notes"] { if let value = form.text(name) { payload[name] = .string(value) } }
        let files: [JSONValue] = form.files.map { file in
            ["name": .string(file.filename ?? "file"), "contentType": .string(file.contentType ?? "application/octet-stream"),
             "contentBase64": .string(Data(file.body).base64EncodedString())]
        }
        if !files.isEmpty { payload["attachments"] = .array(files) }
        return .object(payload)
    }

    /// An id for a record the client did not name: its kind's initial and a random part (`L-3f9c…`).
    static func newID(for entity: String) -> String {
        "\(entity.prefix(1).uppercased())-\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16))"
    }
}
