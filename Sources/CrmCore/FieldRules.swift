
/// The kinds of value a record field may hold.
public enum FieldType: String, Sendable, Hashable, Codable, CaseIterable {
    case string, number, boolean, date, `enum`, email, phone, array

    /// How expressions see the field.
    var expressionType: ExpressionType {
        switch self {
        case .string, .enum, .email, .phone: return .string
        case .number: return .number
        case .boolean: return .bool
        case .date: return .date
        case .array: return .list
        }
    }
}

/// A data rule of one field (FUN-CRM-0283): type, required, bounds, length, allowed values.
public struct FieldRule: Sendable, Hashable, Codable {
    public var name: String
    public var type: FieldType
    public var required: Bool
    public var min: Double?
    public var max: Double?
    public var minLength: Int?
    public var maxLength: Int?
    public var values: [String]?

    public init(name: String, type: FieldType, required: Bool = false, min: Double? = nil, max: Double? = nil,
                minLength: Int? = nil, maxLength: Int? = nil, values: [String]? = nil) {
        self.name = name
        self.type = type
        self.required = required
        self.min = min
        self.max = max
        self.minLength = minLength
        self.maxLength = maxLength
        self.values = values
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        type = try container.decode(FieldType.self, forKey: .type)
        required = try container.decodeIfPresent(Bool.self, forKey: .required) ?? false
        min = try container.decodeIfPresent(Double.self, forKey: .min)
        max = try container.decodeIfPresent(Double.self, forKey: .max)
        minLength = try container.decodeIfPresent(Int.self, forKey: .minLength)
        maxLength = try container.decodeIfPresent(Int.self, forKey: .maxLength)
        values = try container.decodeIfPresent([String].self, forKey: .values)
    }

    /// The problem with `value` for this field, or nil when it fits. Arrays arrive as JSON text.
    func problem(with value: FieldValue) -> String? {
        if value == .null { return required ? "is required" : nil }
        switch (type, value) {
        case (.number, .integer(let number)): return bounds(Double(number))
        case (.number, .number(let number)): return number.isFinite ? bounds(number) : "must be a finite number"
        case (.boolean, .bool): return nil
        case (.string, .string(let text)): return length(text)
        case (.enum, .string(let text)):
            guard let values, values.contains(text) else { return "must be one of \((values ?? []).joined(separator: ", "))" }
            return nil
        case (.email, .string(let text)): return FieldFormats.isEmail(text) ? length(text) : "must be an email address"
        case (.phone, .string(let text)): return FieldFormats.isPhone(text) ? nil : "must be a phone number (digits, spaces, + - ( ) ., 6–20 digits)"
        case (.date, .string(let text)): return FieldFormats.date(text) == nil ? "must be a date (YYYY-MM-DD or an RFC 3339 time)" : nil
        case (.array, .list(let items)):
            if let maxLength, items.count > maxLength { return "must hold at most \(maxLength) items" }
            if let minLength, items.count < minLength { return "must hold at least \(minLength) items" }
            return nil
        default: return "must be a \(type.rawValue)"
        }
    }

    private func bounds(_ number: Double) -> String? {
        if let min, number < min { return "must be at least \(Self.format(min))" }
        if let max, number > max { return "must be at most \(Self.format(max))" }
        return nil
    }

    private func length(_ text: String) -> String? {
        if let minLength, text.count < minLength { return "must be at least \(minLength) characters" }
        if let maxLength, text.count > maxLength { return "must be at most \(maxLength) characters" }
        return nil
    }

    static func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }
}

/// Formats of the typed string fields. Linear scans only: no regular expressions to tie up (ReDoS).
enum FieldFormats {
    static func isEmail(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64, text.count <= 254 else { return false }
        let domain = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return domain.count >= 2 && domain.allSatisfy { label in
            !label.isEmpty && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        } && parts[0].allSatisfy { !$0.isWhitespace }
    }

    static func isPhone(_ text: String) -> Bool {
        let digits = text.filter(\.isNumber).count
        return (6...20).contains(digits) && text.count <= 32 && text.allSatisfy { $0.isNumber || " +-().".contains($0) }
    }

    /// A calendar date `YYYY-MM-DD` (midnight UTC) or an RFC 3339 UTC time, as seconds since 1970.
    static func date(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        if bytes.count == 10 { return RFC3339.seconds(text + "T00:00:00Z") }
        return RFC3339.seconds(text)
    }
}

/// Validates record data against a definition's field rules.
public enum FieldValidation {
    /// `data` as a whole record (creation: required fields must be present) or as changes (`partial`).
    /// `strict` refuses keys without a rule (a definition that declares its fields); otherwise only
    /// the keys that have a rule are checked (free-form data with a tenant's custom fields).
    public static func validate(_ data: [String: FieldValue], rules: [FieldRule], partial: Bool, strict: Bool = true) -> DomainRejection? {
        guard !rules.isEmpty else { return nil }
        let byName = Dictionary(rules.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for key in data.keys.sorted() {
            guard let rule = byName[key] else {
                if !strict { continue }
                return DomainRejection(code: "invalid_payload", message: "'\(key)' is not a field of this definition", field: "payload.data.\(key)")
            }
            if let problem = rule.problem(with: data[key]!) {
                return DomainRejection(code: "invalid_payload", message: "\(key) \(problem)", field: "payload.data.\(key)")
            }
        }
        if !partial {
            for rule in rules where rule.required && (data[rule.name] ?? .null) == .null {
                return DomainRejection(code: "invalid_payload", message: "\(rule.name) is required", field: "payload.data.\(rule.name)")
            }
        }
        return nil
    }
}
