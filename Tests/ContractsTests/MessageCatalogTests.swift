import Contracts
import Foundation
import Testing

/// DESIGN §3 / contracts/README.md §7: readers accept the versions they know, upcast older ones to
/// the newest, and send anything else to the DLQ (unknown_type, wrong_stream, unsupported_version).
@Suite("MessageCatalog")
struct MessageCatalogTests {
    @Test("v1 knows the contract's command and event types with their kinds")
    func v1Types() {
        // Every type of the catalog has its schema in contracts/v1, and every schema its type.
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../contracts/v1").standardized
        let schemas = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        // <type>.schema.json is version 1, <type>.v<N>.schema.json version N of the same type.
        let documented = Set(schemas.filter { $0.hasSuffix(".schema.json") }
            .map { String($0.dropLast(".schema.json".count)).replacing(/\.v[0-9]+$/, with: "") })
            .subtracting(["envelope", "dlq-entry"])
        #expect(!documented.isEmpty)
        #expect(Set(MessageCatalog.v1.entries.keys) == documented)
        #expect(MessageCatalog.v1.entries.keys.contains("directory.put_user") && MessageCatalog.v1.entries.keys.contains("approval.vote")
                && MessageCatalog.v1.entries.keys.contains("timer.fired"))
        #expect(MessageCatalog.v1.entry(for: "lead.create")?.kind == .command)
        #expect(MessageCatalog.v1.entry(for: "definition.publish")?.kind == .command)
        #expect(MessageCatalog.v1.entry(for: "lead.created")?.kind == .event)
        #expect(MessageCatalog.v1.entry(for: "command.rejected")?.kind == .event)
        #expect(MessageCatalog.v1.entry(for: "lead.create")?.currentVersion == 1)
        #expect(MessageCatalog.v1.entry(for: "lead.apply")?.kind == .command)
        #expect(MessageCatalog.v1.entry(for: "opportunity.apply")?.kind == .command)
        #expect(MessageCatalog.v1.entry(for: "contact.teleport") == nil)
    }

    @Test("a known type at its version is accepted unchanged")
    func acceptsKnown() throws {
        let command = Fixture.command()
        #expect(try MessageCatalog.v1.accept(command, consumer: "pipeline") == command)
        let event = Fixture.command(type: "lead.created", kind: .event)
        #expect(try MessageCatalog.v1.accept(event, consumer: "audit") == event)
    }

    @Test("the lead.create example read from disk passes the catalog")
    func exampleAccepted() throws {
        let envelope = try EnvelopeReader().read(try Fixture.example("04-lead.create.json"))
        #expect(try MessageCatalog.v1.accept(envelope, consumer: "pipeline") == envelope)
    }

    @Test("an unknown type is unknown_type naming the type and the consumer")
    func unknownType() {
        let error = #expect(throws: EnvelopeError.self) {
            try MessageCatalog.v1.accept(Fixture.command(type: "lead.frobnicate"), consumer: "pipeline")
        }
        #expect(error == .unknownType(type: "lead.frobnicate", consumer: "pipeline"))
        #expect(error?.reason == "unknown_type")
    }

    @Test("a kind that contradicts the type is wrong_stream")
    func kindMismatch() {
        let asEvent = #expect(throws: EnvelopeError.self) {
            try MessageCatalog.v1.accept(Fixture.command(type: "lead.create", kind: .event), consumer: "pipeline")
        }
        #expect(asEvent?.reason == "wrong_stream")
        #expect(asEvent == .wrongStream(detail: "lead.create is a command, but the envelope says kind 'event'"))
        let asCommand = #expect(throws: EnvelopeError.self) {
            try MessageCatalog.v1.accept(Fixture.command(type: "lead.created", kind: .command), consumer: "audit")
        }
        #expect(asCommand?.reason == "wrong_stream")
    }

    @Test("a version newer than the reader knows is unsupported_version with the supported range")
    func tooNew() {
        let error = #expect(throws: EnvelopeError.self) {
            try MessageCatalog.v1.accept(Fixture.command(version: 2), consumer: "pipeline")
        }
        #expect(error == .unsupportedVersion(type: "lead.create", version: 2, supported: 1...1))
        #expect(error?.reason == "unsupported_version")
    }

    // MARK: upcasting

    /// lead.create v2 renames `payload.leadId` to `payload.recordId`; the upcaster turns v1 into v2.
    static let renaming = MessageCatalog([
        MessageCatalog.Entry(type: "lead.create", kind: .command, currentVersion: 2, upcasters: [
            1: { payload in
                guard case .object(var fields) = payload else { return payload }
                fields["recordId"] = fields.removeValue(forKey: "leadId")
                return .object(fields)
            },
        ]),
    ])

    @Test("a v1 envelope is upcast to v2 with the renamed field; everything else is kept")
    func upcastsV1() throws {
        let v1 = Fixture.command(version: 1, correlationId: "corr-1", payload: ["leadId": "L-1", "data": ["score": 5]])
        let upcast = try Self.renaming.accept(v1, consumer: "pipeline")
        #expect(upcast.version == 2)
        #expect(upcast.payload == ["recordId": "L-1", "data": ["score": 5]])
        #expect(upcast.payload["leadId"] == nil)
        #expect(upcast.id == v1.id)
        #expect(upcast.type == v1.type)
        #expect(upcast.tenant == v1.tenant)
        #expect(upcast.correlationId == "corr-1")
        #expect(upcast.occurredAt == v1.occurredAt)
    }

    @Test("a v2 envelope passes as it is")
    func v2Unchanged() throws {
        let v2 = Fixture.command(version: 2, payload: ["recordId": "L-1"])
        #expect(try Self.renaming.accept(v2, consumer: "pipeline") == v2)
    }

    @Test("versions 0 and 3 are refused with the supported range 1…2", arguments: [0, 3])
    func outsideRange(_ version: Int) {
        let error = #expect(throws: EnvelopeError.self) {
            try Self.renaming.accept(Fixture.command(version: version), consumer: "pipeline")
        }
        #expect(error == .unsupportedVersion(type: "lead.create", version: version, supported: 1...2))
    }

    @Test("upcasters chain in order, and the oldest version is the start of the unbroken chain")
    func chain() throws {
        let catalog = MessageCatalog([
            MessageCatalog.Entry(type: "lead.create", kind: .command, currentVersion: 4, upcasters: [
                // version 1 has no upcaster: it is not supported any more
                2: { payload in .object((payload.objectValue ?? [:]).merging(["steps": "2"]) { $1 }) },
                3: { payload in .object((payload.objectValue ?? [:]).merging(["steps": .string((payload["steps"]?.stringValue ?? "") + ",3")]) { $1 }) },
            ]),
        ])
        let upcast = try catalog.accept(Fixture.command(version: 2, payload: [:]), consumer: "pipeline")
        #expect(upcast.version == 4)
        #expect(upcast.payload == ["steps": "2,3"])
        let fromThree = try catalog.accept(Fixture.command(version: 3, payload: [:]), consumer: "pipeline")
        #expect(fromThree.payload == ["steps": ",3"])
        let error = #expect(throws: EnvelopeError.self) { try catalog.accept(Fixture.command(version: 1), consumer: "pipeline") }
        #expect(error == .unsupportedVersion(type: "lead.create", version: 1, supported: 2...4))
    }

    @Test("restricted(to:) keeps only the named types; merging adds and replaces entries")
    func restrictAndMerge() throws {
        let pipeline = MessageCatalog.v1.restricted(to: ["lead.create", "definition.publish"])
        #expect(Set(pipeline.entries.keys) == ["lead.create", "definition.publish"])
        #expect(throws: EnvelopeError.unknownType(type: "lead.created", consumer: "pipeline")) {
            try pipeline.accept(Fixture.command(type: "lead.created", kind: .event), consumer: "pipeline")
        }
        let merged = MessageCatalog.v1.merging(Self.renaming)
        #expect(merged.entries.count == MessageCatalog.v1.entries.count)
        #expect(merged.entry(for: "lead.create")?.currentVersion == 2)
        #expect(try merged.accept(Fixture.command(version: 1, payload: ["leadId": "L-9"]), consumer: "p").payload == ["recordId": "L-9"])
    }
}
