public import Foundation

public enum MessageKind: String, Sendable, Codable {
    case command, event
}

/// The wire envelope of DESIGN §3. Every stream entry's `envelope` field holds one, as UTF-8 JSON.
public struct Envelope: Sendable, Hashable, Codable {
    public var id: String
    public var type: String
    public var version: Int
    public var kind: MessageKind
    public var tenant: String
    public var actor: String
    public var correlationId: String?
    public var causationId: String?
    public var occurredAt: String
    public var payload: JSONValue

    public init(id: String = Envelope.newID(), type: String, version: Int = 1, kind: MessageKind, tenant: String, actor: String,
                correlationId: String? = nil, causationId: String? = nil, occurredAt: String = Envelope.timestamp(), payload: JSONValue) {
        self.id = id
        self.type = type
        self.version = version
        self.kind = kind
        self.tenant = tenant
        self.actor = actor
        self.correlationId = correlationId
        self.causationId = causationId
        self.occurredAt = occurredAt
        self.payload = payload
    }

    /// An event caused by this message: same tenant, correlated with the chain's first command.
    public func event(type: String, payload: JSONValue, actor: String? = nil, at time: String = Envelope.timestamp()) -> Envelope {
        Envelope(type: type, kind: .event, tenant: tenant, actor: actor ?? self.actor,
                 correlationId: correlationId ?? id, causationId: id, occurredAt: time, payload: payload)
    }

    public static func newID() -> String { UUID().uuidString.lowercased() }

    /// RFC 3339 UTC with milliseconds, e.g. `2026-11-24T21:00:00.123Z`.
    public static func timestamp(_ date: Date = Date()) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }

    /// The envelope as compact JSON bytes with sorted keys (a canonical form, so equal envelopes hash alike).
    public func encoded() -> [UInt8] {
        // Encoding a value made only of strings, numbers and finite JSON cannot fail.
        let data = try! Self.encoder.encode(self)
        return Array(data)
    }

    public var json: String { String(decoding: encoded(), as: UTF8.self) }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
