public import Foundation

/// Turns raw entry bytes into a checked envelope: size, JSON, every field's rules, then type and version.
public struct EnvelopeReader: Sendable {
    /// Default limit of one envelope (DESIGN: 1 MiB, configurable with CRM_MAX_ENVELOPE_BYTES).
    public static let defaultMaxBytes = 1 << 20

    public let maxBytes: Int

    public init(maxBytes: Int = EnvelopeReader.defaultMaxBytes) {
        self.maxBytes = maxBytes
    }

    public func read(_ bytes: [UInt8]) throws(EnvelopeError) -> Envelope {
        guard bytes.count <= maxBytes else { throw .tooLarge(bytes: bytes.count, limit: maxBytes) }
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw .malformedJSON(detail: Self.describe(error))
        }
        guard case .object(let fields) = value else { throw .malformedJSON(detail: "the top level is a \(value.typeName), not an object") }
        return try Self.envelope(from: fields)
    }

    static func envelope(from fields: [String: JSONValue]) throws(EnvelopeError) -> Envelope {
        let known: Set<String> = ["id", "type", "version", "kind", "tenant", "actor", "correlationId", "causationId", "occurredAt", "payload"]
        if let extra = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidEnvelope(field: extra, reason: "is not an envelope field")
        }
        func text(_ name: String, required: Bool = true, rule: (String) -> Bool, expected: String) throws(EnvelopeError) -> String? {
            guard let value = fields[name], value != .null else {
                if required { throw .invalidEnvelope(field: name, reason: "is missing") }
                return nil
            }
            guard case .string(let string) = value else { throw .invalidEnvelope(field: name, reason: "must be a string, not \(value.typeName)") }
            guard rule(string) else { throw .invalidEnvelope(field: name, reason: "must be \(expected)") }
            return string
        }
        let idRule = "1–128 characters of letters, digits, '.', '_' or '-', starting with a letter or digit"
        let id = try text("id", rule: Identifier.isMessageID, expected: idRule)!
        let type = try text("type", rule: Identifier.isMessageType, expected: "a dotted lower-case name such as lead.create")!
        guard let versionValue = fields["version"] else { throw .invalidEnvelope(field: "version", reason: "is missing") }
        guard case .integer(let version) = versionValue, version >= 1, version <= Int64(Int32.max) else {
            throw .invalidEnvelope(field: "version", reason: "must be an integer ≥ 1")
        }
        let kindText = try text("kind", rule: { MessageKind(rawValue: $0) != nil }, expected: "'command' or 'event'")!
        let tenant = try text("tenant", rule: Identifier.isTenant, expected: "1–63 characters of a-z, 0-9, '_' or '-'")!
        let actor = try text("actor", rule: Identifier.isActor, expected: "a user id of 1–128 letters, digits, '.', '_', '@' or '-'")!
        let correlation = try text("correlationId", required: false, rule: Identifier.isMessageID, expected: idRule)
        let causation = try text("causationId", required: false, rule: Identifier.isMessageID, expected: idRule)
        let occurredAt = try text("occurredAt", rule: Timestamp.isValid, expected: "an RFC 3339 UTC timestamp such as 2026-11-24T21:00:00.123Z")!
        guard let payload = fields["payload"] else { throw .invalidEnvelope(field: "payload", reason: "is missing") }
        guard case .object = payload else { throw .invalidEnvelope(field: "payload", reason: "must be an object, not \(payload.typeName)") }
        return Envelope(id: id, type: type, version: Int(version), kind: MessageKind(rawValue: kindText)!, tenant: tenant, actor: actor,
                        correlationId: correlation, causationId: causation, occurredAt: occurredAt, payload: payload)
    }

    private static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            if let underlying = context.underlyingError { return "\(context.debugDescription) (\(underlying.localizedDescription))" }
            return context.debugDescription
        }
        return "\(error)"
    }
}

/// RFC 3339 timestamps in UTC, as the envelope's `occurredAt` carries them.
public enum Timestamp {
    public static func isValid(_ text: String) -> Bool { parse(text) != nil }

    /// The instant, or nil unless the text has the contract's shape and names a real date and time
    /// (no 25:00, no February 30; a leap second :60 is allowed, as RFC 3339 does). Pure arithmetic:
    /// every envelope is checked, so no formatter runs on this path.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard hasContractShape(bytes) else { return nil }
        func number(_ range: Range<Int>) -> Int { bytes[range].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } }
        let (year, month, day) = (number(0..<4), number(5..<7), number(8..<10))
        let (hour, minute, second) = (number(11..<13), number(14..<16), number(17..<19))
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), day >= 1, day <= monthDays[month - 1], hour <= 23, minute <= 59, second <= 60 else { return nil }
        var fraction = 0.0
        if bytes.count > 21 {
            var scale = 0.1
            for digit in bytes[20..<(bytes.count - 1)] {
                fraction += Double(digit - UInt8(ascii: "0")) * scale
                scale /= 10
            }
        }
        // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let seconds = Double(days * 86_400 + hour * 3600 + minute * 60 + second) + fraction
        return Date(timeIntervalSince1970: seconds)
    }

    /// envelope.schema.json's pattern: `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$`.
    private static func hasContractShape(_ bytes: [UInt8]) -> Bool {
        let template = Array("0000-00-00T00:00:00".utf8)
        guard bytes.count >= 20, bytes.count <= 30, bytes.last == UInt8(ascii: "Z") else { return false }
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        for (index, expected) in template.enumerated() {
            guard expected == UInt8(ascii: "0") ? isDigit(bytes[index]) : bytes[index] == expected else { return false }
        }
        let fraction = bytes[19..<(bytes.count - 1)]
        return fraction.isEmpty || (fraction.first == UInt8(ascii: ".") && fraction.count >= 2 && fraction.dropFirst().allSatisfy(isDigit))
    }
}
