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

    /// The envelope as compact JSON bytes with sorted keys (a canonical form, so equal envelopes hash
    /// alike): the fields written in their sorted order directly, the payload through `JSONWriter`.
    public func encoded() -> [UInt8] {
        var writer = JSONWriter(capacity: 256)
        writer.open(UInt8(ascii: "{"))
        writer.key("actor", first: true)
        writer.write(string: actor)
        if let causationId {
            writer.key("causationId")
            writer.write(string: causationId)
        }
        if let correlationId {
            writer.key("correlationId")
            writer.write(string: correlationId)
        }
        writer.key("id")
        writer.write(string: id)
        writer.key("kind")
        writer.write(string: kind.rawValue)
        writer.key("occurredAt")
        writer.write(string: occurredAt)
        writer.key("payload")
        writer.write(payload)
        writer.key("tenant")
        writer.write(string: tenant)
        writer.key("type")
        writer.write(string: type)
        writer.key("version")
        writer.write(integer: Int64(version))
        writer.close(UInt8(ascii: "}"))
        return writer.bytes
    }

    public var json: String { String(decoding: encoded(), as: UTF8.self) }
}
