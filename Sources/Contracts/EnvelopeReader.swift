public import Foundation
import CrmCore

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
            value = try JSONValue.parse(bytes, rejectingDuplicateKeys: true)
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
    public static func isValid(_ text: String) -> Bool { RFC3339.seconds(text) != nil }

    public static func parse(_ text: String) -> Date? { RFC3339.seconds(text).map { Date(timeIntervalSince1970: $0) } }
}
