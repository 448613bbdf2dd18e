import Contracts
import Foundation
import Logging
import RedisClient
import ServiceKit
import Synchronization
import TestSupport
import Testing

/// A reader of interaction.logged as one build or the other reads it: the consumer loop with that
/// build's catalog, decoding the payload strictly by that version's contract. Build N knows
/// contracts/v1 only and reads `subject`; build N+1 (this one) upcasts v1 and reads v2's
/// `subjectEntity` and `subjectId`.
final class InteractionReader: SingleMessageHandler {
    let group: String
    let catalog: MessageCatalog
    private let version: Int
    private let subjects = Mutex<[String]>([])

    init(build version: Int) {
        self.version = version
        group = "reader-v\(version)"
        let catalog: MessageCatalog = version == 1 ? .v1 : .current
        self.catalog = catalog.restricted(to: [MessageType.interactionLogged])
    }

    func streams(of shard: ShardKeys) -> [String] { [shard.events] }

    func handle(_ message: InboundMessage) async throws -> Bool {
        let payload = try PayloadReader(message.envelope.payload)
        let common: Set = ["interactionId", "kind", "notes", "attachments"]
        let subject: String
        if version == 1 {
            try payload.allowOnly(common.union(["subject"]))
            subject = try payload.string("subject")
        } else {
            try payload.allowOnly(common.union(["subjectEntity", "subjectId"]))
            subject = "\(try payload.string("subjectEntity")):\(try payload.string("subjectId"))"
        }
        subjects.withLock { $0.append(subject) }
        return false
    }

    var handled: [String] { subjects.withLock { $0 } }
}

/// contracts/README.md "Rolling upgrades": a service at contract version N+1 beside one at N keeps
/// the system correct. Readers upcast; writers emit what the oldest reader understands until
/// CRM_EMIT_VERSIONS says otherwise; a version nobody knows is refused with its reason.
@Suite("Rolling upgrade of interaction.logged (v1 → v2) through real streams")
struct RollingUpgradeTests {
    let fixture: ConsumerFixture
    let logs: URL

    init() async throws {
        fixture = try await ConsumerFixture()
        logs = fixture.server.directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
    }

    /// The real pipeline-service of this build, writing interaction.logged at the version `emit` asks for.
    func startPipeline(emit: String?) async throws -> ServiceProcess {
        var environment = ["CRM_REDIS_URL": fixture.server.url, "CRM_SHARDS": "4", "CRM_CONSUMER": "pipeline-\(UUID().uuidString.prefix(6))", "CRM_BLOCK_MS": "100"]
        environment["CRM_EMIT_VERSIONS"] = emit
        let service = try ServiceProcess("pipeline-service", environment: environment, logDirectory: logs)
        guard await service.waitForLog("] ready") else { throw TestHarnessError.timedOut("pipeline-service ready:\n\(service.log)") }
        return service
    }

    func stop(_ service: ServiceProcess) async {
        service.signal(SIGTERM)
        _ = await service.waitForExit()
    }

    /// An example of contracts/v1/examples with a fresh id and optionally other payload fields (null removes one).
    func example(_ name: String, payload changes: [String: JSONValue] = [:]) throws -> Envelope {
        let url = ServiceProcess.packageRoot.appendingPathComponent("contracts/v1/examples/\(name)")
        var envelope = try EnvelopeReader().read(Array(try Data(contentsOf: url)))
        envelope.id = Envelope.newID()
        if case .object(var fields) = envelope.payload {
            for (key, value) in changes { fields[key] = value == .null ? nil : value }
            envelope.payload = .object(fields)
        }
        return envelope
    }

    /// A lead L-1001 of tenant acme to log interactions against.
    func publishLead() async throws {
        try await fixture.publish(try example("01-definition.publish.json"))
        try await fixture.publish(try example("04-lead.create.json"))
    }

    func loggedEvents() async throws -> [(envelope: Envelope, raw: [UInt8])] {
        try await fixture.redis.xrange(fixture.shard.events).compactMap { entry in
            let raw = entry.field("envelope") ?? []
            let envelope = try EnvelopeReader().read(raw)
            return envelope.type == MessageType.interactionLogged ? (envelope, raw) : nil
        }
    }

    @Test("a v2 writer emits v1 until told, which build-N readers handle; once told, it emits v2, which they park as unsupported_version")
    func writerWaitsForReaders() async throws {
        try await publishLead()
        let oldReader = InteractionReader(build: 1)
        let newReader = InteractionReader(build: 2)
        let old = fixture.consumer(oldReader, name: "old-1")
        let new = fixture.consumer(newReader, name: "new-1")
        try await running(old) {
            try await running(new) {
                var pipeline = try await startPipeline(emit: nil)
                try await fixture.publish(try example("27-interaction.log.json"))
                #expect(try await eventually { try await loggedEvents().count == 1 })
                let first = try #require(try await loggedEvents().first)
                #expect(first.envelope.version == 1, "written at version 1 until told")
                #expect(first.envelope.payload["subject"] == "lead:L-1001" && first.envelope.payload["subjectId"] == nil)
                #expect(await eventually { oldReader.handled == ["lead:L-1001"] }, "build N reads what the new writer emits")
                #expect(await eventually { newReader.handled == ["lead:L-1001"] }, "build N+1 reads it too, upcast")
                await stop(pipeline)

                // Every reader runs build N+1 now, in production; here build N still reads, to show why the order matters.
                pipeline = try await startPipeline(emit: "interaction.logged=2")
                try await fixture.publish(try example("27-interaction.log.json", payload: ["interactionId": "I-5002", "attachments": .null]))
                #expect(try await eventually { try await loggedEvents().count == 2 })
                let second = try await loggedEvents()[1]
                #expect(second.envelope.version == 2)
                #expect(second.envelope.payload["subjectEntity"] == "lead" && second.envelope.payload["subjectId"] == "L-1001")
                #expect(second.envelope.payload["subject"] == nil)
                #expect(await eventually { newReader.handled == ["lead:L-1001", "lead:L-1001"] })
                #expect(try await eventually { try await fixture.dlq().count == 1 })
                #expect(oldReader.handled == ["lead:L-1001"], "build N never handles a version it does not know")
                await stop(pipeline)
            }
        }
        let parked = try #require(try await fixture.dlq().first)
        #expect(parked.string("reason") == "unsupported_version")
        #expect(parked.string("group") == "reader-v1")
        #expect(parked.string("detail") == "interaction.logged version 2 is not supported; this reader knows versions 1…1")

        // Both versions as written conform to their schemas (interaction.logged and interaction.logged.v2).
        let file = logs.appendingPathComponent("interaction-events.jsonl")
        try Data(try await loggedEvents().map { String(decoding: $0.raw, as: UTF8.self) }.joined(separator: "\n").utf8).write(to: file)
        let script = ServiceProcess.packageRoot.appendingPathComponent("scripts/validate_contracts.py").path
        let validation = try await ServiceProcess.runTool("/usr/bin/env", arguments: ["python3", script, file.path])
        #expect(validation.status == 0, "\(validation.output)")
        #expect(validation.output.contains("2 envelopes, 0 failures"), "\(validation.output)")
    }

    @Test("events of a v1 writer reach a v2 reader upcast; the real audit-service keeps both versions as written and parks an unknown v3")
    func readersUpcast() async throws {
        // Build N's pipeline-service wrote exactly version 1 (example 28); build N+1 told to by CRM_EMIT_VERSIONS writes version 2 (example 99).
        let v1 = try EnvelopeReader().read(Array(try Data(contentsOf: ServiceProcess.packageRoot.appendingPathComponent("contracts/v1/examples/28-interaction.logged.json"))))
        let v2 = try EnvelopeReader().read(Array(try Data(contentsOf: ServiceProcess.packageRoot.appendingPathComponent("contracts/v1/examples/99-interaction.logged.v2.json"))))
        var v3 = v2
        v3.id = Envelope.newID()
        v3.version = 3
        let newReader = InteractionReader(build: 2)
        let audit = try ServiceProcess("audit-service", environment: ["CRM_REDIS_URL": fixture.server.url, "CRM_SHARDS": "4", "CRM_CONSUMER": "audit-1"],
                                       logDirectory: logs)
        defer { if audit.isRunning { audit.signal(SIGKILL) } }
        #expect(await audit.waitForLog("] ready"))
        try await running(fixture.consumer(newReader, name: "new-1")) {
            for envelope in [v1, v2, v3] { try await fixture.publishRaw(envelope.encoded(), to: fixture.shard.events) }
            #expect(await eventually { newReader.handled == ["lead:L-1001", "lead:L-1001"] }, "v1 upcast and v2 as is; v3 refused")
            #expect(try await eventually { try await fixture.dlq().count == 2 }, "one v3 refusal per reader group")
        }
        #expect(try await eventually { try await fixture.redis.xlen(fixture.shard.audit) == 2 })
        let trail = try await fixture.redis.xrange(fixture.shard.audit)
        #expect(trail.map { $0.field("envelope") ?? [] } == [v1.encoded(), v2.encoded()], "the audit trail keeps each event as written")
        #expect(trail.map { $0.string("record") } == ["lead:L-1001", "lead:L-1001"], "both versions are filed under the record")
        let refusals = try await fixture.dlq()
        #expect(Set(refusals.compactMap { $0.string("group") }) == ["reader-v2", "audit"])
        for refusal in refusals {
            #expect(refusal.string("reason") == "unsupported_version")
            #expect(refusal.string("detail") == "interaction.logged version 3 is not supported; this reader knows versions 1…2")
            #expect(refusal.field("envelope") == v3.encoded())
        }
        audit.signal(SIGTERM)
        #expect(await audit.waitForExit() == 0)
    }
}
