import Foundation
import CrmKit
import Contracts
import CrmCore
import Hummingbird
import HTTPTypes

extension PageRoutes {
    /// `GET /new/{entity}`: one input per field the entity takes now (definition and custom fields);
    /// the rules are shown, and checked by pipeline-service, not by the browser.
    func createForm(_ session: PageSession, entity: String, form: PostedForm?, error: [String: Any]?, status: HTTPResponse.Status = .ok) async throws -> Response {
        guard let kind = EntityKind(rawValue: entity) else { return notFound(session, "Only leads and opportunities are created here.") }
        let catalog = try await FieldCatalog.read(store: gateway.store, shard: gateway.client.router.keys(forTenant: session.caller.tenant), tenant: session.caller.tenant, entity: kind)
        let customNames = Set(catalog.customFields.map(\.name))
        let invalidField = (error?["field"] as? String).map { $0.replacingOccurrences(of: "payload.data.", with: "") }
        let inputs: [[String: Any]] = catalog.allFields.map { rule in
            let value = form?["f.\(rule.name)"] ?? ""
            var input: [String: Any] = ["name": rule.name, "required": rule.required, "custom": customNames.contains(rule.name), "hint": Self.hint(rule),
                                        "value": value, "invalid": invalidField == rule.name]
            switch rule.type {
            case .enum: input["isEnum"] = true; input["options"] = (rule.values ?? []).map { ["value": $0, "selected": $0 == value] }
            case .boolean: input["isBoolean"] = true
            default:
                input["isInput"] = true
                input["inputType"] = [FieldType.number: "number", .date: "date", .email: "email", .phone: "tel"][rule.type] ?? "text"
            }
            return input
        }
        var context: [String: Any] = ["entity": entity, "csrf": session.csrf, "inputs": inputs, "recordId": form?["_id"] ?? ""]
        if let error { context["error"] = error }
        return render("create", title: "New \(entity)", status: status, context: context, session: session.layout)
    }

    /// `POST /new/{entity}`: `<entity>.create` with the typed values; a refusal shows the form again, its field marked.
    func create(_ session: PageSession, _ form: PostedForm, entity: String) async throws -> Response {
        guard let kind = EntityKind(rawValue: entity) else { return notFound(session, "Only leads and opportunities are created here.") }
        let catalog = try await FieldCatalog.read(store: gateway.store, shard: gateway.client.router.keys(forTenant: session.caller.tenant), tenant: session.caller.tenant, entity: kind)
        let types = Dictionary(catalog.allFields.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first })
        var data: [String: JSONValue] = [:]
        for (name, raw) in form.values where name.hasPrefix("f.") {
            let field = String(name.dropFirst(2))
            let text = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { continue }
            data[field] = Self.typed(text, as: types[field] ?? .string)
        }
        let id = form.text("_id") ?? GatewayRoutes.newID(for: entity)
        guard Identifier.isMessageID(id) else {
            return try await createForm(session, entity: entity, form: form, error: ["code": "invalid_id", "message": "The id may hold letters, digits, . _ - only.", "field": "id"], status: .badRequest)
        }
        let sent = try await gateway.send("\(entity).create", payload: ["\(entity)Id": .string(id), "data": .object(data)], caller: session.caller)
        if case .accepted = sent { return Responses.redirect("/records/\(entity)/\(id)?done=created") }
        return try await createForm(session, entity: entity, form: form, error: Self.errorContext(sent), status: Self.status(of: sent))
    }

    /// A form's text as the field's type; what does not parse goes as text, for the service to refuse with its rule.
    static func typed(_ text: String, as type: FieldType) -> JSONValue {
        switch type {
        case .number:
            if let integer = Int64(text) { return .integer(integer) }
            if let number = Double(text), number.isFinite { return .number(number) }
            return .string(text)
        case .boolean:
            return text == "true" ? .bool(true) : text == "false" ? .bool(false) : .string(text)
        case .array:
            return .array(text.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) })
        default:
            return .string(text)
        }
    }

    /// The rule of a field in words, for the hint under its input.
    static func hint(_ rule: FieldRule) -> String {
        var parts = [rule.type.rawValue]
        if rule.required { parts.append("required") }
        if let min = rule.min { parts.append("at least \(Self.number(min))") }
        if let max = rule.max { parts.append("at most \(Self.number(max))") }
        if let minLength = rule.minLength { parts.append("at least \(minLength) long") }
        if let maxLength = rule.maxLength { parts.append("at most \(maxLength) long") }
        if let values = rule.values, !values.isEmpty { parts.append("one of " + values.joined(separator: ", ")) }
        return parts.joined(separator: ", ")
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
