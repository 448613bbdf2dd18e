import Contracts
import Foundation
import CrmCore

/// Maps command payloads (wire JSON) to CrmCore's types, refusing anything off-contract with the field's path.
enum PayloadMapping {
    static let maxDataFields = 200

    static func definition(_ payload: JSONValue) throws(Rejection) -> PipelineDefinition {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(Set(["entity", "name", "stages", "transitions", "fields", "permissions", "gateways"]).union(SlaDefinitionPayload.keys))
            let entityName = try reader.string("entity", rule: { EntityKind(rawValue: $0) != nil }, expected: "'lead' or 'opportunity'")
            let name = try reader.string("name", maxLength: 100)
            var stages: [StageDefinition] = []
            for stage in try reader.objects("stages", maxCount: 64) {
                try stage.allowOnly(["name", "label", "initial", "terminal"])
                stages.append(StageDefinition(
                    name: try stage.string("name", maxLength: 63, rule: Names.isValid, expected: "lower-case letters, digits and '_'"),
                    label: try stage.optionalString("label", maxLength: 100),
                    initial: try stage.optionalBool("initial") ?? false,
                    terminal: try stage.optionalString("terminal", rule: { TerminalOutcome(rawValue: $0) != nil }, expected: "'won' or 'lost'")
                        .flatMap(TerminalOutcome.init(rawValue:))))
            }
            if stages.isEmpty { throw PayloadError(field: reader.at("stages"), reason: "must hold at least one stage") }
            var transitions: [TransitionDefinition] = []
            for transition in try reader.objects("transitions", required: false, maxCount: 256) {
                try transition.allowOnly(["action", "from", "to", "condition", "guard", "requires", "hooks", "approval", "auto"])
                let hooks = try transition.optionalObject("hooks")
                try hooks?.allowOnly(["before", "after"])
                let name: (String) -> Bool = { !$0.isEmpty && $0.utf8.count <= 100 }
                transitions.append(TransitionDefinition(
                    action: try transition.string("action", maxLength: 63, rule: Names.isValid, expected: "lower-case letters, digits and '_'"),
                    from: try transition.strings("from", maxCount: 64, rule: Names.isValid, expected: "a stage name"),
                    to: try transition.string("to", maxLength: 63, rule: Names.isValid, expected: "a stage name"),
                    condition: try transition.optionalString("condition", maxLength: 2000),
                    guard: try transition.optionalString("guard", maxLength: 2000),
                    requires: try transition.strings("requires", required: false, maxCount: 16, rule: name, expected: "a registered condition's name"),
                    hooks: TransitionHookNames(
                        before: try hooks?.strings("before", required: false, maxCount: 16, rule: name, expected: "a registered hook's name") ?? [],
                        after: try hooks?.strings("after", required: false, maxCount: 16, rule: name, expected: "a registered hook's name") ?? []),
                    requiresApproval: try transition.optionalBool("approval") ?? false,
                    automatic: try transition.optionalBool("auto") ?? false))
            }
            let fields = try fieldRules(reader, "fields")
            var permissions: [String: [String]] = [:]
            if let object = try reader.optionalObject("permissions") {
                guard object.fields.count <= 256 else { throw PayloadError(field: object.path, reason: "has more than 256 permissions") }
                for key in object.fields.keys.sorted() {
                    guard Names.isValid(key) else { throw PayloadError(field: object.at(key), reason: "is not a permission name (create, update or an action)") }
                    permissions[key] = try object.strings(key, maxCount: 32, rule: Names.isValid, expected: "a role name")
                }
            }
            var definition = PipelineDefinition(entity: EntityKind(rawValue: entityName)!, name: name, stages: stages, transitions: transitions,
                                                fields: fields, permissions: permissions, gateways: try gateways(reader))
            try SlaDefinitionPayload.read(reader, into: &definition)
            return definition
        } catch {
            throw Rejection(error)
        }
    }

    /// A definition's `gateways`: forks with branches of steps (shape only; the compiler checks the rest).
    static func gateways(_ reader: PayloadReader) throws(PayloadError) -> [GatewayDefinition] {
        let name: (String) -> Bool = Names.isValid
        var gateways: [GatewayDefinition] = []
        for gateway in try reader.objects("gateways", required: false, maxCount: 32) {
            try gateway.allowOnly(["name", "stage", "kind", "join", "branches"])
            var branches: [BranchDefinition] = []
            for branch in try gateway.objects("branches", maxCount: 32) {
                try branch.allowOnly(["name", "when", "default", "steps"])
                var steps: [StepDefinition] = []
                for step in try branch.objects("steps", maxCount: 32) {
                    try step.allowOnly(["name", "integration", "input", "compensate"])
                    var compensation: Compensation?
                    if let compensate = try step.optionalObject("compensate") {
                        try compensate.allowOnly(["integration", "input"])
                        compensation = Compensation(integration: try compensate.string("integration", maxLength: 100, rule: { !$0.isEmpty }, expected: "an integration's name"),
                                                    input: try compensate.optionalObject("input").map { object throws(PayloadError) in try data(object) })
                    }
                    steps.append(StepDefinition(
                        name: try step.string("name", maxLength: 63, rule: name, expected: "a step name"),
                        integration: try step.optionalString("integration", maxLength: 100, rule: { !$0.isEmpty }, expected: "an integration's name"),
                        input: try step.optionalObject("input").map { object throws(PayloadError) in try data(object) },
                        compensate: compensation))
                }
                branches.append(BranchDefinition(name: try branch.string("name", maxLength: 63, rule: name, expected: "a branch name"),
                                                 when: try branch.optionalString("when", maxLength: 2000),
                                                 isDefault: try branch.optionalBool("default") ?? false, steps: steps))
            }
            gateways.append(GatewayDefinition(
                name: try gateway.string("name", maxLength: 63, rule: name, expected: "a gateway name"),
                stage: try gateway.string("stage", maxLength: 63, rule: name, expected: "a stage name"),
                kind: GatewayDefinition.Kind(rawValue: try gateway.string("kind", rule: { GatewayDefinition.Kind(rawValue: $0) != nil }, expected: "parallel or inclusive"))!,
                join: try gateway.string("join", maxLength: 63, rule: name, expected: "a stage name"),
                branches: branches))
        }
        return gateways
    }

    /// An array of field rules (a definition's `fields`, a `fields.configure`'s `add`).
    static func fieldRules(_ reader: PayloadReader, _ key: String) throws(PayloadError) -> [FieldRule] {
        var fields: [FieldRule] = []
        for field in try reader.objects(key, required: false, maxCount: 200) {
            try field.allowOnly(["name", "type", "required", "min", "max", "minLength", "maxLength", "values"])
            fields.append(FieldRule(
                name: try field.string("name", maxLength: 63, rule: Names.isValid, expected: "lower-case letters, digits and '_'"),
                type: FieldType(rawValue: try field.string("type", rule: { FieldType(rawValue: $0) != nil },
                                                           expected: FieldType.allCases.map(\.rawValue).joined(separator: ", ")))!,
                required: try field.optionalBool("required") ?? false,
                min: try field.optionalNumber("min"), max: try field.optionalNumber("max"),
                minLength: try field.optionalInt("minLength", range: 0...100_000), maxLength: try field.optionalInt("maxLength", range: 0...100_000),
                values: field.has("values") ? try field.strings("values", maxCount: 200, rule: { !$0.isEmpty && $0.utf8.count <= 100 }, expected: "a non-empty value of at most 100 bytes") : nil))
        }
        return fields
    }

    static func configureFields(_ payload: JSONValue) throws(Rejection) -> (entity: EntityKind, add: [FieldRule], remove: [String]) {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["entity", "add", "remove"])
            let entity = try reader.string("entity", rule: { EntityKind(rawValue: $0) != nil }, expected: "'lead' or 'opportunity'")
            let add = try fieldRules(reader, "add")
            let remove = try reader.strings("remove", required: false, maxCount: 200, rule: Names.isValid, expected: "a field name")
            guard !add.isEmpty || !remove.isEmpty else { throw PayloadError(field: reader.path, reason: "must add or remove at least one field") }
            return (EntityKind(rawValue: entity)!, add, remove)
        } catch {
            throw Rejection(error)
        }
    }

    struct InteractionRequest {
        let id: String
        let kind: Interaction.Kind
        let subjectEntity: String
        let subjectID: String
        let notes: String
        let files: [(name: String, contentType: String, bytes: [UInt8])]
    }

    static func interaction(_ payload: JSONValue) throws(Rejection) -> InteractionRequest {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["interactionId", "kind", "subject", "notes", "attachments"])
            let id = try reader.string("interactionId", maxLength: 128, rule: Identifier.isMessageID, expected: "a record id")
            let kind = try reader.string("kind", rule: { Interaction.Kind(rawValue: $0) != nil }, expected: "call, email, meeting or note")
            let subject = try reader.string("subject", maxLength: 200, rule: { text in
                let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
                return parts.count == 2 && ["lead", "opportunity", "contact"].contains(parts[0]) && Identifier.isMessageID(parts[1])
            }, expected: "lead:<id>, opportunity:<id> or contact:<id>")
            let notes = try reader.optionalString("notes", maxLength: 20_000) ?? ""
            var files: [(name: String, contentType: String, bytes: [UInt8])] = []
            for file in try reader.objects("attachments", required: false, maxCount: InteractionRules.maxAttachments) {
                try file.allowOnly(["name", "contentType", "contentBase64"])
                let encoded = try file.string("contentBase64", maxLength: 1 << 20)
                guard let bytes = Data(base64Encoded: encoded) else { throw PayloadError(field: file.at("contentBase64"), reason: "is not base64") }
                files.append((try file.string("name", maxLength: 200), try file.string("contentType", maxLength: 200), Array(bytes)))
            }
            let parts = subject.split(separator: ":", maxSplits: 1).map(String.init)
            return InteractionRequest(id: id, kind: Interaction.Kind(rawValue: kind)!, subjectEntity: parts[0], subjectID: parts[1], notes: notes, files: files)
        } catch {
            throw Rejection(error)
        }
    }

    static func createRecord(_ payload: JSONValue, kind: RecordCommand) throws(Rejection) -> CreateRecord {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly([kind.idField, "data", "definitionVersion"])
            let id = try reader.string(kind.idField, maxLength: 128, rule: Identifier.isMessageID,
                                       expected: "1–128 letters, digits, '.', '_' or '-', starting with a letter or digit")
            let data = try reader.optionalObject("data").map { object throws(PayloadError) in try Self.data(object) } ?? [:]
            return CreateRecord(entity: kind.entity, recordID: id, data: data, definitionVersion: try reader.optionalInt("definitionVersion"))
        } catch {
            throw Rejection(error)
        }
    }

    /// `lead.update`, `opportunity.update`, `contact.update`: the record id (`idField`), the changes, the expected version.
    static func update(_ payload: JSONValue, idField: String) throws(Rejection) -> (id: String, changes: [String: FieldValue], expectedVersion: Int?) {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly([idField, "data", "expectedVersion"])
            let id = try reader.string(idField, maxLength: 128, rule: Identifier.isMessageID, expected: "a record id")
            guard let object = try reader.optionalObject("data"), !object.fields.isEmpty else {
                throw PayloadError(field: reader.at("data"), reason: "must hold at least one field to change")
            }
            return (id, try data(object), try reader.optionalInt("expectedVersion"))
        } catch {
            throw Rejection(error)
        }
    }

    static func applyToRecord(_ payload: JSONValue, kind: RecordCommand) throws(Rejection) -> (id: String, action: String, expectedVersion: Int?) {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly([kind.idField, "action", "expectedVersion"])
            return (try reader.string(kind.idField, maxLength: 128, rule: Identifier.isMessageID, expected: "a record id"),
                    try reader.string("action", maxLength: 63, rule: Names.isValid, expected: "an action name such as qualify"),
                    try reader.optionalInt("expectedVersion"))
        } catch {
            throw Rejection(error)
        }
    }

    /// `contact.add`: the id, the data and the records (`lead:<id>`, `opportunity:<id>`) it belongs to.
    static func contact(_ payload: JSONValue) throws(Rejection) -> (id: String, data: [String: FieldValue], links: [String]) {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["contactId", "data", "links"])
            let id = try reader.string("contactId", maxLength: 128, rule: Identifier.isMessageID, expected: "a record id")
            let values = try reader.optionalObject("data").map { object throws(PayloadError) in try data(object) } ?? [:]
            let links = try reader.strings("links", required: false, maxCount: 16, rule: isRecordLink, expected: "'lead:<id>' or 'opportunity:<id>'")
            return (id, values, Array(Set(links)).sorted())
        } catch {
            throw Rejection(error)
        }
    }

    /// `branch.complete`: the record (`leadId` or `opportunityId`), the branch and optionally its step.
    static func branchCompletion(_ payload: JSONValue) throws(Rejection) -> (EntityKind, String, branch: String, step: String?) {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["leadId", "opportunityId", "branch", "step"])
            let (entity, id) = try recordID(reader)
            return (entity, id, try reader.string("branch", maxLength: 63, rule: Names.isValid, expected: "a branch name"),
                    try reader.optionalString("step", maxLength: 63, rule: Names.isValid, expected: "a step name"))
        } catch {
            throw Rejection(error)
        }
    }

    /// `saga.abort`: the record and why.
    static func sagaAbort(_ payload: JSONValue) throws(Rejection) -> (EntityKind, String, reason: String) {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["leadId", "opportunityId", "reason"])
            let (entity, id) = try recordID(reader)
            return (entity, id, try reader.optionalString("reason", maxLength: 500) ?? "aborted")
        } catch {
            throw Rejection(error)
        }
    }

    /// Exactly one of `leadId` and `opportunityId`.
    private static func recordID(_ reader: PayloadReader) throws(PayloadError) -> (EntityKind, String) {
        let lead = try reader.optionalString("leadId", maxLength: 128, rule: Identifier.isMessageID, expected: "a record id")
        let opportunity = try reader.optionalString("opportunityId", maxLength: 128, rule: Identifier.isMessageID, expected: "a record id")
        switch (lead, opportunity) {
        case (let id?, nil): return (.lead, id)
        case (nil, let id?): return (.opportunity, id)
        default: throw PayloadError(field: reader.at("leadId"), reason: "names the record: give exactly one of leadId and opportunityId")
        }
    }

    /// `lead:<id>` or `opportunity:<id>`.
    static func isRecordLink(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        return parts.count == 2 && EntityKind(rawValue: parts[0]) != nil && Identifier.isMessageID(parts[1])
    }

    /// A `data` object: at most 200 fields of scalar values or lists of them.
    static func data(_ object: PayloadReader) throws(PayloadError) -> [String: FieldValue] {
        guard object.fields.count <= maxDataFields else { throw PayloadError(field: object.path, reason: "has more than \(maxDataFields) fields") }
        var data: [String: FieldValue] = [:]
        for (key, value) in object.fields {
            guard !key.isEmpty, key.utf8.count <= 100 else { throw PayloadError(field: object.at(key), reason: "is not a usable field name (1–100 bytes)") }
            data[key] = try fieldValue(value, path: object.at(key))
        }
        return data
    }

    static func fieldValue(_ value: JSONValue, path: String) throws(PayloadError) -> FieldValue {
        switch value {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .integer(let number): return .integer(number)
        case .number(let number): return .number(number)
        case .string(let text): return .string(text)
        case .array(let items):
            guard items.count <= 100 else { throw PayloadError(field: path, reason: "has more than 100 items") }
            var values: [FieldValue] = []
            for (index, item) in items.enumerated() {
                let value = try fieldValue(item, path: "\(path)[\(index)]")
                if case .list = value { throw PayloadError(field: "\(path)[\(index)]", reason: "lists do not nest") }
                values.append(value)
            }
            return .list(values)
        case .object: throw PayloadError(field: path, reason: "must be a string, number, boolean, null or a list of them, not an object")
        }
    }

    static func json(_ data: [String: FieldValue]) -> JSONValue { JSONValue(data) }

    static func json(_ value: FieldValue) -> JSONValue { JSONValue(value) }
}
