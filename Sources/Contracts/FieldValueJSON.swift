public import CrmCore

extension JSONValue {
    /// A record field's value as JSON (every field value is one).
    public init(_ value: FieldValue) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .integer(let number): self = .integer(number)
        case .number(let number): self = .number(number)
        case .string(let text): self = .string(text)
        case .list(let items): self = .array(items.map(JSONValue.init))
        }
    }

    /// Record data as a JSON object.
    public init(_ data: [String: FieldValue]) {
        self = .object(data.mapValues(JSONValue.init))
    }
}
