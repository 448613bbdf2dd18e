/// A payload field that breaks its contract: which field (a JSON path such as `payload.stages[2].name`) and why.
public struct PayloadError: Error, Sendable, Equatable, CustomStringConvertible {
    public let field: String
    public let reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field) \(reason)" }
}

/// Reads one JSON object strictly: unknown fields, missing fields and wrong types are errors that name the field.
public struct PayloadReader: Sendable {
    public let path: String
    public let fields: [String: JSONValue]

    public init(_ value: JSONValue, path: String = "payload") throws(PayloadError) {
        guard case .object(let fields) = value else { throw PayloadError(field: path, reason: "must be an object, not \(value.typeName)") }
        self.path = path
        self.fields = fields
    }

    public func at(_ key: String) -> String { "\(path).\(key)" }

    /// Refuses fields outside `allowed` (the schemas say `additionalProperties: false`).
    public func allowOnly(_ allowed: Set<String>) throws(PayloadError) {
        if let extra = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw PayloadError(field: at(extra), reason: "is not a known field")
        }
    }

    public func has(_ key: String) -> Bool { fields[key] != nil && fields[key] != .null }

    public func string(_ key: String, maxLength: Int = 1000, rule: ((String) -> Bool)? = nil, expected: String = "") throws(PayloadError) -> String {
        guard let value = try optionalString(key, maxLength: maxLength, rule: rule, expected: expected) else {
            throw PayloadError(field: at(key), reason: "is required")
        }
        return value
    }

    public func optionalString(_ key: String, maxLength: Int = 1000, rule: ((String) -> Bool)? = nil, expected: String = "") throws(PayloadError) -> String? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .string(let text) = value else { throw PayloadError(field: at(key), reason: "must be a string, not \(value.typeName)") }
        guard !text.isEmpty else { throw PayloadError(field: at(key), reason: "must not be empty") }
        guard text.utf8.count <= maxLength else { throw PayloadError(field: at(key), reason: "is longer than \(maxLength) bytes") }
        if let rule, !rule(text) { throw PayloadError(field: at(key), reason: "must be \(expected)") }
        return text
    }

    public func optionalInt(_ key: String, range: ClosedRange<Int64> = 1...Int64(Int32.max)) throws(PayloadError) -> Int? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .integer(let number) = value else { throw PayloadError(field: at(key), reason: "must be an integer, not \(value.typeName)") }
        guard range.contains(number) else { throw PayloadError(field: at(key), reason: "must be between \(range.lowerBound) and \(range.upperBound)") }
        return Int(number)
    }

    public func optionalNumber(_ key: String) throws(PayloadError) -> Double? {
        guard let value = fields[key], value != .null else { return nil }
        switch value {
        case .integer(let number): return Double(number)
        case .number(let number) where number.isFinite: return number
        default: throw PayloadError(field: at(key), reason: "must be a number, not \(value.typeName)")
        }
    }

    public func optionalBool(_ key: String) throws(PayloadError) -> Bool? {
        guard let value = fields[key], value != .null else { return nil }
        guard case .bool(let flag) = value else { throw PayloadError(field: at(key), reason: "must be a boolean, not \(value.typeName)") }
        return flag
    }

    public func array(_ key: String, required: Bool = true, maxCount: Int = 1000) throws(PayloadError) -> [JSONValue] {
        guard let value = fields[key], value != .null else {
            if required { throw PayloadError(field: at(key), reason: "is required") }
            return []
        }
        guard case .array(let items) = value else { throw PayloadError(field: at(key), reason: "must be an array, not \(value.typeName)") }
        guard items.count <= maxCount else { throw PayloadError(field: at(key), reason: "has more than \(maxCount) items") }
        return items
    }

    /// Each item of an array of objects, with its path (`payload.stages[0]`).
    public func objects(_ key: String, required: Bool = true, maxCount: Int = 1000) throws(PayloadError) -> [PayloadReader] {
        var readers: [PayloadReader] = []
        for (index, item) in try array(key, required: required, maxCount: maxCount).enumerated() {
            readers.append(try PayloadReader(item, path: "\(at(key))[\(index)]"))
        }
        return readers
    }

    public func strings(_ key: String, required: Bool = true, maxCount: Int = 1000, rule: (String) -> Bool, expected: String) throws(PayloadError) -> [String] {
        var result: [String] = []
        for (index, item) in try array(key, required: required, maxCount: maxCount).enumerated() {
            guard case .string(let text) = item, rule(text) else {
                throw PayloadError(field: "\(at(key))[\(index)]", reason: "must be \(expected)")
            }
            result.append(text)
        }
        return result
    }

    public func optionalObject(_ key: String) throws(PayloadError) -> PayloadReader? {
        guard let value = fields[key], value != .null else { return nil }
        return try PayloadReader(value, path: at(key))
    }
}
