import Contracts
import Foundation
import Testing

/// contracts/README.md §2 and §4: every inbound entry is checked (size, JSON, every envelope field)
/// and anything broken maps to a DLQ reason code instead of crashing a consumer.
@Suite("EnvelopeReader")
struct EnvelopeReaderTests {
    static let example = "04-lead.create.json"

    @Test("the lead.create example from contracts/v1/examples decodes field by field")
    func readsExample() throws {
        let envelope = try EnvelopeReader().read(try Fixture.example(Self.example))
        #expect(envelope.id == "01a20f5b-c162-7cbf-9631-048fd978aa3e")
        #expect(envelope.type == "lead.create")
        #expect(envelope.version == 1)
        #expect(envelope.kind == .command)
        #expect(envelope.tenant == "acme")
        #expect(envelope.actor == "u-17")
        #expect(envelope.correlationId == nil)
        #expect(envelope.causationId == nil)
        #expect(envelope.occurredAt == "2026-11-24T21:00:01.250Z")
        #expect(envelope.payload["leadId"] == "L-1001")
        #expect(envelope.payload["data"]?["name"] == "Ada Lovelace")
        #expect(envelope.payload["data"]?["score"] == .integer(72))
    }

    @Test("every example of contracts/v1/examples is a valid envelope that the catalogs accept, named after its type and version")
    func allExamples() throws {
        let folder = Fixture.packageRoot.appending(path: "contracts/v1/examples")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(names.count >= 6)
        for name in names {
            let envelope = try EnvelopeReader().read(try Fixture.example(name))
            #expect(name.dropFirst(3) == "\(envelope.type)\(envelope.version == 1 ? "" : ".v\(envelope.version)").json", "file \(name)")
            // This build reads every version; version-1 examples are what the v1 catalog reads unchanged.
            let current = try MessageCatalog.current.accept(envelope, consumer: "test")
            #expect(current.version == MessageCatalog.current.entry(for: envelope.type)?.currentVersion, "file \(name)")
            if envelope.version == 1 { #expect(try MessageCatalog.v1.accept(envelope, consumer: "test") == envelope, "file \(name)") }
        }
    }

    @Test("optional correlationId and causationId are read when present; null means absent")
    func optionalIDs() throws {
        var fields = try Fixture.exampleFields(Self.example)
        fields["correlationId"] = "corr-1"
        fields["causationId"] = "cause.2"
        var envelope = try EnvelopeReader().read(Fixture.bytes(fields))
        #expect(envelope.correlationId == "corr-1")
        #expect(envelope.causationId == "cause.2")
        fields["correlationId"] = .null
        envelope = try EnvelopeReader().read(Fixture.bytes(fields))
        #expect(envelope.correlationId == nil)
    }

    @Test("every DLQ reason code of EnvelopeError")
    func reasonCodes() {
        #expect(EnvelopeError.malformedJSON(detail: "x").reason == "malformed_json")
        #expect(EnvelopeError.tooLarge(bytes: 2, limit: 1).reason == "too_large")
        #expect(EnvelopeError.invalidEnvelope(field: "id", reason: "x").reason == "invalid_envelope")
        #expect(EnvelopeError.unsupportedVersion(type: "a.b", version: 2, supported: 1...1).reason == "unsupported_version")
        #expect(EnvelopeError.unknownType(type: "a.b", consumer: "c").reason == "unknown_type")
        #expect(EnvelopeError.wrongStream(detail: "x").reason == "wrong_stream")
        #expect(EnvelopeError.wrongShard(tenant: "acme", expected: 2, actual: 1).reason == "wrong_shard")
    }

    // MARK: malformed JSON

    struct Malformed: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        var testDescription: String { name }
    }

    static let malformed: [Malformed] = [
        Malformed(name: "truncated object", bytes: Array(#"{"id": "m-1", "type": "lead.cre"#.utf8)),
        Malformed(name: "a bare word", bytes: Array("hello".utf8)),
        Malformed(name: "a JSON array", bytes: Array(#"[{"id": "m-1"}]"#.utf8)),
        Malformed(name: "a JSON string", bytes: Array(#""envelope""#.utf8)),
        Malformed(name: "a JSON number", bytes: Array("42".utf8)),
        Malformed(name: "JSON null", bytes: Array("null".utf8)),
        Malformed(name: "empty bytes", bytes: []),
        Malformed(name: "only whitespace", bytes: Array("  \n".utf8)),
        Malformed(name: "invalid UTF-8", bytes: [0x7B, 0x22, 0x69, 0x64, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D]),  // {"id":"\xFF\xFE"}
        Malformed(name: "a lone continuation byte", bytes: [0x80]),
        Malformed(name: "single quotes", bytes: Array("{'id': 'm-1'}".utf8)),
        Malformed(name: "a key twice", bytes: Array(#"{"id": "m-1", "tenant": "acme", "tenant": "globex"}"#.utf8)),
        Malformed(name: "a key twice in the payload, spelt two ways", bytes: Array(#"{"id": "m-1", "payload": {"leadId": "L-1", "\u006ceadId": "L-2"}}"#.utf8)),
        Malformed(name: "a number too large for a double", bytes: Array(#"{"id": "m-1", "version": 1e400}"#.utf8)),
        Malformed(name: "a lone surrogate", bytes: Array(#"{"id": "\ud800"}"#.utf8)),
        Malformed(name: "nesting 100,000 deep", bytes: Array((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)),
    ]

    @Test("bytes that are not a JSON object are malformed_json", arguments: malformed)
    func malformedJSON(_ input: Malformed) {
        let error = readError(input.bytes)
        #expect(error?.isMalformedJSON == true, "got \(String(describing: error))")
        #expect(error?.reason == "malformed_json")
    }

    @Test("a top-level array is named in the detail")
    func arrayDetail() {
        #expect(readError(Array("[1, 2]".utf8)) == .malformedJSON(detail: "the top level is a array, not an object"))
    }

    // MARK: size

    @Test("an envelope over maxBytes is too_large, checked before parsing")
    func tooLarge() throws {
        let bytes = try Fixture.example(Self.example)
        let error = readError(bytes, maxBytes: 100)
        #expect(error == .tooLarge(bytes: bytes.count, limit: 100))
        #expect(error?.reason == "too_large")
        // Size is checked first: even garbage over the limit is too_large, not malformed_json.
        #expect(readError(Array(repeating: 0xFF, count: 11), maxBytes: 10) == .tooLarge(bytes: 11, limit: 10))
    }

    @Test("an envelope of exactly maxBytes is read")
    func exactlyAtLimit() throws {
        let bytes = try Fixture.example(Self.example)
        #expect(readError(bytes, maxBytes: bytes.count) == nil)
        #expect(readError(bytes, maxBytes: bytes.count - 1) == .tooLarge(bytes: bytes.count, limit: bytes.count - 1))
        #expect(EnvelopeReader().maxBytes == 1_048_576, "the default limit is 1 MiB")
    }

    // MARK: missing fields

    @Test("each required field missing is invalid_envelope naming the field",
          arguments: ["id", "type", "version", "kind", "tenant", "actor", "occurredAt", "payload"])
    func missingField(_ name: String) throws {
        var fields = try Fixture.exampleFields(Self.example)
        fields[name] = nil
        let error = readError(Fixture.bytes(fields))
        #expect(error == .invalidEnvelope(field: name, reason: "is missing"))
        #expect(error?.reason == "invalid_envelope")
    }

    @Test("a required string field that is null counts as missing", arguments: ["id", "type", "kind", "tenant", "actor", "occurredAt"])
    func nullField(_ name: String) throws {
        var fields = try Fixture.exampleFields(Self.example)
        fields[name] = .null
        #expect(readError(Fixture.bytes(fields)) == .invalidEnvelope(field: name, reason: "is missing"))
    }

    // MARK: wrong types and values

    struct BadField: Sendable, CustomTestStringConvertible {
        let field: String
        let value: JSONValue
        var testDescription: String { "\(field) = \(String(decoding: Fixture.bytes(value), as: UTF8.self))" }
    }

    static let badFields: [BadField] = [
        // types
        BadField(field: "version", value: "1"),
        BadField(field: "version", value: 1.5),
        BadField(field: "version", value: true),
        BadField(field: "version", value: .null),
        BadField(field: "payload", value: [1, 2]),
        BadField(field: "payload", value: "{}"),
        BadField(field: "payload", value: .null),
        BadField(field: "id", value: 17),
        BadField(field: "tenant", value: ["acme"]),
        BadField(field: "actor", value: false),
        BadField(field: "occurredAt", value: 1_795_554_000),
        // values
        BadField(field: "version", value: 0),
        BadField(field: "version", value: -1),
        BadField(field: "version", value: .integer(Int64(Int32.max) + 1)),
        BadField(field: "kind", value: "query"),
        BadField(field: "kind", value: "Command"),
        // patterns
        BadField(field: "tenant", value: "ac{me"),
        BadField(field: "tenant", value: "ac}me"),
        BadField(field: "tenant", value: "acme:2"),
        BadField(field: "tenant", value: "Acme"),
        BadField(field: "tenant", value: ""),
        BadField(field: "tenant", value: "-acme"),
        BadField(field: "tenant", value: .string(String(repeating: "a", count: 64))),
        BadField(field: "id", value: "has spaces"),
        BadField(field: "id", value: "-leading-dash"),
        BadField(field: "id", value: "a:b"),
        BadField(field: "id", value: ""),
        BadField(field: "id", value: .string(String(repeating: "x", count: 129))),
        BadField(field: "correlationId", value: "not valid"),
        BadField(field: "correlationId", value: 5),
        BadField(field: "causationId", value: "{s1}"),
        BadField(field: "type", value: "leadcreate"),
        BadField(field: "type", value: "Lead.create"),
        BadField(field: "type", value: "lead."),
        BadField(field: "type", value: "lead.create2"),
        BadField(field: "actor", value: "u 17"),
        BadField(field: "actor", value: "@u17"),
        BadField(field: "occurredAt", value: "yesterday"),
        BadField(field: "occurredAt", value: "2026-11-24T21:00:00.123"),
        BadField(field: "occurredAt", value: "2026-11-24T21:00:00+00:00"),
        BadField(field: "occurredAt", value: "2026-11-24 21:00:00Z"),
        BadField(field: "occurredAt", value: "2026-11-24"),
        BadField(field: "occurredAt", value: ""),
        BadField(field: "occurredAt", value: "2026-13-01T00:00:00Z"),
        // The contract's pattern is YYYY-MM-DDThh:mm:ss[.fraction]Z, a real date and time:
        BadField(field: "occurredAt", value: "2026-11-24T21:00:00+05:00Z"),
        BadField(field: "occurredAt", value: "2026-11-24T21:00:00ZZ"),
        BadField(field: "occurredAt", value: "2026-1-24T21:00:00Z"),
        BadField(field: "occurredAt", value: "2026-11-24T25:00:00Z"),
        BadField(field: "occurredAt", value: "2026-11-24T21:60:00Z"),
        BadField(field: "occurredAt", value: "2026-02-30T21:00:00Z"),
        BadField(field: "occurredAt", value: "2026-11-24T21:00:00.Z"),
        BadField(field: "occurredAt", value: "2026-11-24T21:00:00.1234567890Z"),
    ]

    @Test("a field of the wrong type or shape is invalid_envelope naming that field", arguments: badFields)
    func badField(_ input: BadField) throws {
        var fields = try Fixture.exampleFields(Self.example)
        fields[input.field] = input.value
        let error = readError(Fixture.bytes(fields))
        #expect(error?.invalidField == input.field, "got \(String(describing: error))")
        #expect(error?.reason == "invalid_envelope")
    }

    @Test("the reasons say what was expected")
    func reasonTexts() throws {
        var fields = try Fixture.exampleFields(Self.example)
        fields["version"] = "1"
        #expect(readError(Fixture.bytes(fields)) == .invalidEnvelope(field: "version", reason: "must be an integer ≥ 1"))
        fields = try Fixture.exampleFields(Self.example)
        fields["payload"] = [1]
        #expect(readError(Fixture.bytes(fields)) == .invalidEnvelope(field: "payload", reason: "must be an object, not array"))
        fields = try Fixture.exampleFields(Self.example)
        fields["tenant"] = 3
        #expect(readError(Fixture.bytes(fields)) == .invalidEnvelope(field: "tenant", reason: "must be a string, not integer"))
    }

    struct GoodField: Sendable, CustomTestStringConvertible {
        let field: String
        let value: JSONValue
        var testDescription: String { "\(field) = \(String(decoding: Fixture.bytes(value), as: UTF8.self))" }
    }

    static let goodFields: [GoodField] = [
        GoodField(field: "occurredAt", value: "2026-11-24T21:00:00Z"),
        GoodField(field: "occurredAt", value: "2026-11-24T21:00:00.1Z"),
        GoodField(field: "occurredAt", value: "2026-11-24T21:00:00.123456789Z"),
        GoodField(field: "occurredAt", value: "2024-02-29T23:59:59.999Z"),
        GoodField(field: "tenant", value: "tenant_42-x"),
        GoodField(field: "tenant", value: .string(String(repeating: "a", count: 63))),
        GoodField(field: "id", value: "01J9Z7ABCDEF.x_y-z"),
        GoodField(field: "id", value: .string(String(repeating: "x", count: 128))),
        GoodField(field: "actor", value: "ada@example.com"),
        GoodField(field: "type", value: "lead.stage_changed"),
        GoodField(field: "version", value: 7),
        GoodField(field: "kind", value: "event"),
        GoodField(field: "payload", value: [:]),
    ]

    @Test("values the contract allows are read back unchanged", arguments: goodFields)
    func goodField(_ input: GoodField) throws {
        var fields = try Fixture.exampleFields(Self.example)
        fields[input.field] = input.value
        let envelope = try EnvelopeReader().read(Fixture.bytes(fields))
        let back = try #require(try JSONDecoder().decode(JSONValue.self, from: Data(envelope.encoded())).objectValue)
        #expect(back[input.field] == input.value)
    }

    // MARK: unknown fields

    @Test("an unknown top-level field is invalid_envelope naming it")
    func extraField() throws {
        var fields = try Fixture.exampleFields(Self.example)
        fields["priority"] = "high"
        #expect(readError(Fixture.bytes(fields)) == .invalidEnvelope(field: "priority", reason: "is not an envelope field"))
        fields["Payload"] = [:]
        #expect(readError(Fixture.bytes(fields))?.invalidField == "Payload", "the first unknown field in sorted order is named")
    }

    @Test("unknown fields inside the payload are not the envelope's business")
    func payloadExtraIsFine() throws {
        var fields = try Fixture.exampleFields(Self.example)
        fields["payload"] = ["anything": ["goes": true]]
        let envelope = try EnvelopeReader().read(Fixture.bytes(fields))
        #expect(envelope.payload == ["anything": ["goes": true]])
    }
}

@Suite("Timestamp")
struct TimestampTests {
    @Test("parse gives the instant written")
    func parses() throws {
        let date = try #require(Timestamp.parse("2026-11-24T21:00:00.123Z"))
        #expect(abs(date.timeIntervalSince1970 - 1_795_554_000.123) < 0.0005)
        let whole = try #require(Timestamp.parse("1970-01-01T00:00:00Z"))
        #expect(whole.timeIntervalSince1970 == 0)
    }

    @Test("the contract's shape and a real calendar date and time are required", arguments: [
        ("2026-11-24T21:00:00.123Z", true), ("2026-11-24T21:00:00Z", true), ("2024-02-29T00:00:00Z", true),
        ("2026-12-31T23:59:59.999999999Z", true), ("2016-12-31T23:59:60Z", true),  // a leap second, as RFC 3339 allows
        ("2025-02-29T00:00:00Z", false), ("2026-04-31T00:00:00Z", false), ("2026-00-10T00:00:00Z", false),
        ("2026-11-00T00:00:00Z", false), ("2026-11-24T24:00:00Z", false), ("2026-11-24T21:00:61Z", false),
        ("2026-11-24T21:00:00.123z", false), ("2026-11-24t21:00:00Z", false), (" 2026-11-24T21:00:00Z", false),
        ("2026-11-24T21:00:00,5Z", false), ("yesterday", false), ("", false),
    ])
    func validity(_ text: String, _ valid: Bool) {
        #expect(Timestamp.isValid(text) == valid)
    }

    @Test("Envelope.timestamp() writes what Timestamp accepts, with milliseconds")
    func timestampRoundTrip() throws {
        let date = Date(timeIntervalSince1970: 1_795_554_000.25)
        let text = Envelope.timestamp(date)
        #expect(text == "2026-11-24T21:00:00.250Z")
        #expect(Timestamp.isValid(text))
        #expect(Timestamp.isValid(Envelope.timestamp()))
    }
}
