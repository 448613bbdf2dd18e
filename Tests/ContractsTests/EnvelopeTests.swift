import Contracts
import Foundation
import Testing

/// Envelope.encoded() is the canonical form (sorted keys, compact) that the audit chain hashes.
@Suite("Envelope encoding")
struct EnvelopeTests {
    static let envelope = Envelope(
        id: "m-1", type: "lead.create", version: 1, kind: .command, tenant: "acme", actor: "u-17",
        occurredAt: "2026-11-24T21:00:00.123Z",
        payload: ["zeta": 1, "alpha": ["d": true, "c": .null, "b": [3, "x"]], "url": "https://example.com/a"])

    @Test("compact JSON with sorted keys at every level; absent optional ids are left out; slashes unescaped")
    func canonicalForm() {
        #expect(Self.envelope.json == #"{"actor":"u-17","id":"m-1","kind":"command","occurredAt":"2026-11-24T21:00:00.123Z","#
            + #""payload":{"alpha":{"b":[3,"x"],"c":null,"d":true},"url":"https://example.com/a","zeta":1},"#
            + #""tenant":"acme","type":"lead.create","version":1}"#)
        #expect(String(decoding: Self.envelope.encoded(), as: UTF8.self) == Self.envelope.json)
    }

    @Test("correlationId and causationId take their sorted places when present")
    func withIDs() {
        var envelope = Self.envelope
        envelope.correlationId = "c-1"
        envelope.causationId = "c-0"
        envelope.payload = [:]
        #expect(envelope.json == #"{"actor":"u-17","causationId":"c-0","correlationId":"c-1","id":"m-1","kind":"command","#
            + #""occurredAt":"2026-11-24T21:00:00.123Z","payload":{},"tenant":"acme","type":"lead.create","version":1}"#)
    }

    @Test("equal envelopes encode to equal bytes, whatever order their payload was built in")
    func stableBytes() {
        var other = Self.envelope
        other.payload = ["url": "https://example.com/a", "alpha": ["b": [3, "x"], "c": .null, "d": true], "zeta": 1]
        #expect(other == Self.envelope)
        #expect(other.encoded() == Self.envelope.encoded())
    }

    @Test("encoded() round-trips through EnvelopeReader")
    func roundTrip() throws {
        var envelope = Self.envelope
        envelope.correlationId = "c-1"
        envelope.payload = ["n": 1.5, "i": -7, "s": "ünïcödé \"quoted\"", "b": false, "null": .null, "list": [[:], []]]
        #expect(try EnvelopeReader().read(envelope.encoded()) == envelope)
        #expect(try EnvelopeReader().read(Self.envelope.encoded()) == Self.envelope)
    }

    @Test("the example file, read and encoded again, reads back the same")
    func exampleRoundTrip() throws {
        let read = try EnvelopeReader().read(try Fixture.example("04-lead.create.json"))
        let again = try EnvelopeReader().read(read.encoded())
        #expect(again == read)
        #expect(again.encoded() == read.encoded())
    }

    @Test("new ids are unique lower-case UUIDs that pass the id rule")
    func newIDs() {
        let ids = (0..<100).map { _ in Envelope.newID() }
        #expect(Set(ids).count == 100)
        #expect(ids.allSatisfy { Identifier.isMessageID($0) && $0 == $0.lowercased() && $0.count == 36 })
    }
}
