import Foundation
import CrmKit
import Contracts
import CrmCore
import Hummingbird
import HTTPTypes

extension PageRoutes {
    /// `GET /admin/fields`: each entity's custom fields, with edit and retire, and the add/edit form.
    /// Saving publishes fields.configure; pipeline-service checks the next create or update against it.
    func adminPage(_ session: PageSession, entity: String?, editing: String?, form: PostedForm?, error: [String: Any]?, notice: String?,
                   status: HTTPResponse.Status = .ok) async throws -> Response {
        let shard = gateway.client.router.keys(forTenant: session.caller.tenant)
        var sections: [[String: Any]] = []
        var editedRule: FieldRule?
        for kind in [EntityKind.lead, .opportunity] {
            let catalog = try await FieldCatalog.read(store: gateway.store, shard: shard, tenant: session.caller.tenant, entity: kind)
            if kind.rawValue == entity, let editing { editedRule = catalog.customFields.first { $0.name == editing } }
            sections.append([
                "entity": kind.rawValue, "version": catalog.customFieldsVersion, "csrf": session.csrf,
                "custom": catalog.customFields.map { ["name": $0.name, "type": $0.type.rawValue, "required": $0.required ? "yes" : "no", "rule": Self.hint($0)] },
                "retired": catalog.retired, "definitionFields": catalog.definitionFields.map(\.name),
            ])
        }
        let chosenEntity = form?["entity"] ?? entity ?? "lead"
        let values: [String: Any]
        if let form {
            values = ["name": form["name"] ?? "", "required": form["required"] == "true", "min": form["min"] ?? "", "max": form["max"] ?? "",
                      "minLength": form["minLength"] ?? "", "maxLength": form["maxLength"] ?? "", "values": form["values"] ?? "", "type": form["type"] ?? "string"]
        } else if let rule = editedRule {
            values = ["name": rule.name, "required": rule.required, "min": rule.min.map(Self.number) ?? "", "max": rule.max.map(Self.number) ?? "",
                      "minLength": rule.minLength.map(String.init) ?? "", "maxLength": rule.maxLength.map(String.init) ?? "",
                      "values": (rule.values ?? []).joined(separator: ", "), "type": rule.type.rawValue]
        } else {
            values = ["type": "string", "required": false]
        }
        let chosenType = values["type"] as? String ?? "string"
        var context: [String: Any] = [
            "entities": sections, "csrf": session.csrf, "form": values, "editing": editedRule != nil,
            "entityOptions": ["lead", "opportunity"].map { ["value": $0, "selected": $0 == chosenEntity] },
            "typeOptions": FieldType.allCases.map { ["value": $0.rawValue, "selected": $0.rawValue == chosenType] },
        ]
        if let error { context["error"] = error }
        if let notice = Self.notice(notice) { context["notice"] = notice }
        return render("admin", title: "Custom fields", status: status, context: context, session: session.layout)
    }

    /// `POST /admin/fields`: adds the field, or redefines the one of that name (fields.configure `add`).
    func saveField(_ session: PageSession, _ form: PostedForm) async throws -> Response {
        func refuse(_ field: String, _ message: String) async throws -> Response {
            try await adminPage(session, entity: form["entity"], editing: nil, form: form, error: ["code": "invalid_payload", "message": message, "field": field],
                                notice: nil, status: .badRequest)
        }
        guard let entity = form.text("entity"), EntityKind(rawValue: entity) != nil else { return try await refuse("entity", "Choose lead or opportunity.") }
        guard let name = form.text("name") else { return try await refuse("name", "A field needs a name.") }
        guard let type = form.text("type").flatMap(FieldType.init(rawValue:)) else { return try await refuse("type", "Choose a type.") }
        var rule: [String: JSONValue] = ["name": .string(name), "type": .string(type.rawValue), "required": .bool(form["required"] == "true")]
        for bound in ["min", "max"] {
            guard let text = form.text(bound) else { continue }
            guard let value = Double(text), value.isFinite else { return try await refuse(bound, "\(bound) must be a number.") }
            rule[bound] = .number(value)
        }
        for length in ["minLength", "maxLength"] {
            guard let text = form.text(length) else { continue }
            guard let value = Int64(text), value >= 0 else { return try await refuse(length, "\(length) must be a whole number, 0 or more.") }
            rule[length] = .integer(value)
        }
        if let values = form.text("values") {
            rule["values"] = .array(values.split(separator: ",").map { .string($0.trimmingCharacters(in: .whitespaces)) }.filter { $0 != .string("") })
        }
        let sent = try await gateway.send("fields.configure", payload: ["entity": .string(entity), "add": [.object(rule)]], caller: session.caller)
        if case .accepted = sent { return Responses.redirect("/admin/fields?done=saved") }
        return try await adminPage(session, entity: entity, editing: nil, form: form, error: Self.errorContext(sent), notice: nil, status: Self.status(of: sent))
    }

    /// `POST /admin/fields/retire`: fields.configure `remove`; the values records hold stay readable.
    func retireField(_ session: PageSession, _ form: PostedForm) async throws -> Response {
        guard let entity = form.text("entity"), EntityKind(rawValue: entity) != nil, let name = form.text("name") else {
            return try await adminPage(session, entity: nil, editing: nil, form: nil, error: ["code": "invalid_payload", "message": "Which field?", "field": "name"],
                                       notice: nil, status: .badRequest)
        }
        let sent = try await gateway.send("fields.configure", payload: ["entity": .string(entity), "remove": [.string(name)]], caller: session.caller)
        if case .accepted = sent { return Responses.redirect("/admin/fields?done=retired") }
        return try await adminPage(session, entity: entity, editing: nil, form: nil, error: Self.errorContext(sent), notice: nil, status: Self.status(of: sent))
    }
}
