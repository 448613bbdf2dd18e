import Contracts
import Foundation
import Testing

/// contracts/README.md "Rolling upgrades": interaction.logged has a version 2; readers of
/// this build upcast v1, writers downcast to the version CRM_EMIT_VERSIONS asks for (v1 until told).
@Suite("Contract versions: v1 ↔ v2 of interaction.logged, emit versions")
struct ContractVersionsTests {
    func read(_ path: String) throws -> Envelope {
        try EnvelopeReader().read(Array(try Data(contentsOf: Fixture.packageRoot.appending(path: path))))
    }

    @Test("the upcaster turns the v1 example into the v2 example's payload, and the downcaster back")
    func upcastAndDowncast() throws {
        let v1 = try read("contracts/v1/examples/28-interaction.logged.json")
        let v2 = try read("contracts/v1/examples/99-interaction.logged.v2.json")
        let upcast = try MessageCatalog.current.accept(v1, consumer: "test")
        #expect(upcast.version == 2)
        #expect(upcast.payload == v2.payload)
        #expect(InteractionLoggedVersions.downcast(v2.payload) == v1.payload)
        #expect(try MessageCatalog.current.accept(v2, consumer: "test") == v2, "the current version is accepted unchanged")
    }

    @Test("every version-2 example is accepted by this build's catalog as it is, and refused by build N's")
    func v2Examples() throws {
        let folder = Fixture.packageRoot.appending(path: "contracts/v1/examples")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".v2.json") }.sorted()
        #expect(!names.isEmpty)
        for name in names {
            let envelope = try read("contracts/v1/examples/\(name)")
            #expect(try MessageCatalog.current.accept(envelope, consumer: "test") == envelope, "file \(name)")
            #expect(throws: EnvelopeError.unsupportedVersion(type: envelope.type, version: envelope.version, supported: 1...1)) {
                try MessageCatalog.v1.accept(envelope, consumer: "test")
            }
        }
    }

    @Test("an unknown future version is unsupported_version naming the versions this reader knows")
    func futureVersion() throws {
        var v3 = try read("contracts/v1/examples/99-interaction.logged.v2.json")
        v3.version = 3
        let error = #expect(throws: EnvelopeError.self) { try MessageCatalog.current.accept(v3, consumer: "audit") }
        #expect(error == .unsupportedVersion(type: "interaction.logged", version: 3, supported: 1...2))
        #expect(error?.reason == "unsupported_version")
    }

    @Test("a v1 subject without ':' is left for the v2 reader to reject by name, not guessed")
    func malformedSubject() {
        let payload: JSONValue = ["interactionId": "I-1", "subject": "lead-L-1"]
        #expect(InteractionLoggedVersions.upcast(payload) == payload)
    }

    @Test("writers emit v1 until told; CRM_EMIT_VERSIONS=interaction.logged=2 emits v2; other types stay as they are")
    func emitVersions() throws {
        let v2 = try read("contracts/v1/examples/99-interaction.logged.v2.json")
        let v1 = try read("contracts/v1/examples/28-interaction.logged.json")
        let defaults = EmitVersions()
        #expect(defaults.version(of: "interaction.logged") == 1)
        #expect(defaults.version(of: "lead.created") == 1)
        let shaped = defaults.shape(v2)
        #expect(shaped.version == 1 && shaped.payload == v1.payload && shaped.id == v2.id)
        let told = try EmitVersions(parsing: " interaction.logged=2 ")
        #expect(told.version(of: "interaction.logged") == 2)
        #expect(told.shape(v2) == v2)
        #expect(try EmitVersions(parsing: "interaction.logged=1").shape(v2) == shaped)
        let lead = Fixture.command(type: "lead.created", kind: .event)
        #expect(told.shape(lead) == lead)
        #expect(try EmitVersions(parsing: "") == defaults)
    }

    @Test("a bad CRM_EMIT_VERSIONS item is refused with its code and the item at fault", arguments: [
        ("interaction.logged", "malformed"), ("interaction.logged=two", "malformed"), ("lead.frobnicated=1", "unknown_type"),
        ("interaction.logged=3", "unsupported_version"), ("lead.create=2", "unsupported_version"),
        ("interaction.logged=0", "unsupported_version"), ("interaction.logged=2,interaction.logged=1", "duplicate"),
    ])
    func badEmitVersions(item: String, code: String) {
        let error = #expect(throws: EmitVersionsError.self) { try EmitVersions(parsing: item) }
        #expect(error?.code == code, "\(item)")
        #expect(error.map { item.contains($0.item) } == true)
    }
}
