import Contracts
import CrmCore

/// Maps command payloads (wire JSON) to CrmCore's types, refusing anything off-contract with the field's path.
enum PayloadMapping {
    static let maxDataFields = 200

    static func definition(_ payload: JSONValue) throws(Rejection) -> PipelineDefinition {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["entity", "name", "stages", "transitions"])
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
                try transition.allowOnly(["action", "from", "to"])
                transitions.append(TransitionDefinition(
                    action: try transition.string("action", maxLength: 63, rule: Names.isValid, expected: "lower-case letters, digits and '_'"),
                    from: try transition.strings("from", maxCount: 64, rule: Names.isValid, expected: "a stage name"),
                    to: try transition.string("to", maxLength: 63, rule: Names.isValid, expected: "a stage name")))
            }
            return PipelineDefinition(entity: EntityKind(rawValue: entityName)!, name: name, stages: stages, transitions: transitions)
        } catch {
            throw Rejection(error)
        }
    }

    static func createLead(_ payload: JSONValue) throws(Rejection) -> CreateLead {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["leadId", "data", "definitionVersion"])
            let id = try reader.string("leadId", maxLength: 128, rule: Identifier.isMessageID,
                                       expected: "1–128 letters, digits, '.', '_' or '-', starting with a letter or digit")
            var data: [String: FieldValue] = [:]
            if let object = try reader.optionalObject("data") {
                guard object.fields.count <= maxDataFields else {
                    throw PayloadError(field: object.path, reason: "has more than \(maxDataFields) fields")
                }
                for (key, value) in object.fields {
                    guard !key.isEmpty, key.utf8.count <= 100 else { throw PayloadError(field: object.at(key), reason: "is not a usable field name (1–100 bytes)") }
                    data[key] = try fieldValue(value, path: object.at(key))
                }
            }
            return CreateLead(leadID: id, data: data, definitionVersion: try reader.optionalInt("definitionVersion"))
        } catch {
            throw Rejection(error)
        }
    }

    static func fieldValue(_ value: JSONValue, path: String) throws(PayloadError) -> FieldValue {
        switch value {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .integer(let number): return .integer(number)
        case .number(let number): return .number(number)
        case .string(let text): return .string(text)
        case .array, .object: throw PayloadError(field: path, reason: "must be a string, number, boolean or null, not \(value.typeName)")
        }
    }

    static func json(_ data: [String: FieldValue]) -> JSONValue {
        .object(data.mapValues { value in
            switch value {
            case .null: return .null
            case .bool(let flag): return .bool(flag)
            case .integer(let number): return .integer(number)
            case .number(let number): return .number(number)
            case .string(let text): return .string(text)
            }
        })
    }
}
