import Foundation
import CrmKit
import Contracts
import CrmCore
import CrmRedis
import Hummingbird
import HTTPTypes

extension PageRoutes {
    /// `GET /records/{entity}/{id}`: stage, data, the actions the user `can` take, interactions and the timeline.
    func recordPage(_ session: PageSession, entity: String, id: String, notice: String?, error: [String: Any]? = nil,
                    status: HTTPResponse.Status = .ok) async throws -> Response {
        let tenant = session.caller.tenant
        guard EntityKind(rawValue: entity) != nil, Identifier.isMessageID(id) else { return notFound(session, "There is no such record.") }
        let shard = gateway.client.router.keys(forTenant: tenant)
        guard let bytes = try await gateway.store.fields([HashRead(shard.record(tenant: tenant, entity: entity, id: id), ["d"])])[0][0],
              let document = try? JSONValue.parse(bytes) else {
            return notFound(session, "Tenant \(tenant) has no \(entity) \(id).")
        }
        let stage = document["stage"]?.stringValue ?? "?"
        let version = document["version"].flatMap { if case .integer(let v) = $0 { return Int(v) } else { return nil } } ?? 0
        let definitionVersion = document["definitionVersion"].flatMap { if case .integer(let v) = $0 { return Int(v) } else { return nil } } ?? 0
        var definition: PipelineDefinition?
        if let source = try await gateway.store.fields([HashRead(shard.definitions(tenant: tenant, entity: entity), ["d:\(definitionVersion)"])])[0][0] {
            definition = try? CrmStore.decode(PipelineDefinition.self, source)
        }
        let user = try await gateway.store.directory(shard: shard, tenant: tenant, user: session.caller.user).user
        let actions: [[String: Any]] = (definition?.transitions ?? []).filter { transition in
            !transition.automatic && transition.from.contains(stage)
                && definition.map { Authorization.can(actor: session.caller.user, user: user, permission: transition.action, definition: $0) } == true
        }.map { ["action": $0.action, "to": $0.to] }
        let data = document["data"]?.objectValue ?? [:]
        let fields: [[String: Any]] = data.keys.sorted().map { ["name": $0, "value": Self.display(data[$0] ?? .null)] }

        var timeline: [[String: Any]] = []
        var interactions: [[String: Any]] = []
        for entry in try await gateway.client.history(tenant: tenant, entity: entity, id: id) {
            guard let envelope = try? JSONValue.parse(entry.bytes) else { continue }
            let type = envelope["type"]?.stringValue ?? entry.type
            let payload = envelope["payload"] ?? .null
            let at = envelope["occurredAt"]?.stringValue ?? ""
            let actor = envelope["actor"]?.stringValue ?? entry.actor
            var line: [String: Any] = ["type": type, "actor": actor, "occurredAt": at]
            // Mustache shows a section for any string, the empty one too.
            let summary = Self.summary(type: type, payload: payload)
            if !summary.isEmpty { line["summary"] = summary }
            timeline.append(line)
            if type == "interaction.logged" {
                let files: [[String: Any]] = (payload["attachments"]?.arrayValue ?? []).map { file in
                    ["name": file["name"]?.stringValue ?? "", "sha256": file["sha256"]?.stringValue ?? "", "contentType": file["contentType"]?.stringValue ?? "",
                     "size": Self.display(file["size"] ?? .null)]
                }
                interactions.append(["kind": payload["kind"]?.stringValue ?? "", "notes": payload["notes"]?.stringValue ?? "", "occurredAt": at,
                                     "actor": actor, "attachments": files])
            }
        }
        var context: [String: Any] = [
            "entity": entity, "id": id, "stage": stage, "version": version,
            "definitionVersion": definitionVersion, "csrf": session.csrf, "hasActions": !actions.isEmpty, "actions": actions,
            "fields": fields, "timeline": timeline, "interactions": interactions,
            "interactionKinds": Interaction.Kind.allCases.map(\.rawValue), "maxUploadBytes": gateway.settings.maxUploadBytes,
        ]
        let title = RecordTitle.of(document)
        if !title.isEmpty { context["title"] = title }
        if let notice = Self.notice(notice) { context["notice"] = notice }
        if let error { context["error"] = error }
        return render("record", title: "\(entity) \(id)", status: status, context: context, session: session.layout)
    }

    /// `POST /records/{entity}/{id}/apply`: `<entity>.apply` with the version the page showed (409 when stale).
    func apply(_ session: PageSession, _ form: PostedForm, entity: String, id: String) async throws -> Response {
        guard EntityKind(rawValue: entity) != nil, Identifier.isMessageID(id), let action = form.text("action") else {
            return notFound(session, "There is no such record or action.")
        }
        var payload: [String: JSONValue] = ["\(entity)Id": .string(id), "action": .string(action)]
        if let expected = form.text("expectedVersion").flatMap(Int64.init) { payload["expectedVersion"] = .integer(expected) }
        let sent = try await gateway.send("\(entity).apply", payload: .object(payload), caller: session.caller)
        if case .accepted = sent { return Responses.redirect("/records/\(entity)/\(id)?done=applied") }
        return try await recordPage(session, entity: entity, id: id, notice: nil, error: Self.errorContext(sent), status: Self.status(of: sent))
    }

    /// `POST /records/{entity}/{id}/interactions` (multipart): interaction.log about the record, with its files.
    func logInteraction(_ session: PageSession, _ form: PostedForm, entity: String, id: String) async throws -> Response {
        guard EntityKind(rawValue: entity) != nil, Identifier.isMessageID(id) else { return notFound(session, "There is no such record.") }
        var parts = form.files
        for (name, value) in form.values where name != "_csrf" { parts.append(.init(name: name, filename: nil, contentType: nil, body: Array(value.utf8))) }
        parts.append(.init(name: "subject", filename: nil, contentType: nil, body: Array("\(entity):\(id)".utf8)))
        let envelope = Envelope(type: "interaction.log", kind: .command, tenant: session.caller.tenant, actor: session.caller.user,
                                payload: GatewayRoutes.interactionPayload(MultipartForm(parts: parts)))
        guard envelope.encoded().count <= gateway.settings.maxEnvelopeBytes else {
            return try await recordPage(session, entity: entity, id: id, notice: nil, error: ["code": "too_large", "message": "The files are over the limit.", "field": "attachments"],
                                        status: .contentTooLarge)
        }
        let sent = try await gateway.send(envelope)
        if case .accepted = sent { return Responses.redirect("/records/\(entity)/\(id)?done=logged") }
        return try await recordPage(session, entity: entity, id: id, notice: nil, error: Self.errorContext(sent), status: Self.status(of: sent))
    }

    /// A value as a person reads it: text as it is, anything else as JSON.
    static func display(_ value: JSONValue) -> String {
        if case .string(let text) = value { return text }
        return String(decoding: value.compactJSON, as: UTF8.self)
    }

    /// One line about an audit entry: the stage move, the fields changed, the refusal.
    static func summary(type: String, payload: JSONValue) -> String {
        if type.hasSuffix(".stage_changed") {
            return "\(payload["from"]?.stringValue ?? "?") → \(payload["to"]?.stringValue ?? "?") (\(payload["action"]?.stringValue ?? ""))"
        }
        if type == "command.rejected" {
            return "\(payload["commandType"]?.stringValue ?? "") refused: \(payload["code"]?.stringValue ?? "") \(payload["message"]?.stringValue ?? "")"
        }
        if type.hasSuffix(".updated"), let changes = payload["changes"]?.arrayValue {
            return changes.map { "\($0["field"]?.stringValue ?? "?") \(display($0["old"] ?? .null)) → \(display($0["new"] ?? .null))" }.joined(separator: "; ")
        }
        if type == "interaction.logged" { return payload["kind"]?.stringValue ?? "" }
        if type == "command.accepted" { return payload["commandType"]?.stringValue ?? "" }
        return ""
    }
}
