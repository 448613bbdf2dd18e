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
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
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

    public static func parse(_ text: String) -> Date? {
        guard hasContractShape(Array(text.utf8)) else { return nil }
        // Foundation's parser rolls impossible fields over (25:00, Feb 30); the date and time written must be a real one.
        let whole = Date.ISO8601FormatStyle(timeZone: .gmt)
        let minute = String(text.prefix(17)) + "00Z"
        let seconds = Int(String(text.dropFirst(17).prefix(2))) ?? 99
        guard seconds <= 60, let check = try? whole.parse(minute), whole.format(check) == minute else { return nil }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).parse(text) { return date }
        return try? whole.parse(text)
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
