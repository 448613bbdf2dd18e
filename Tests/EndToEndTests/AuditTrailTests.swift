import Contracts
import Crypto
import CrmRedis
import Foundation
import RedisClient
import TestSupport
import Testing

@Suite("audit-service: the tamper-evident trail with the real binaries", .serialized)
struct AuditTrailTests {
    /// One tenant per shard of 4: initech → 0, b → 1, acme → 2, a → 3.
    static let tenants = ["initech", "b", "acme", "a"]

    func event(_ index: Int) -> Envelope {
        Envelope(type: "lead.created", kind: .event, tenant: Self.tenants[index % 4], actor: "u-\(index % 7)",
                 correlationId: "c-\(index)", causationId: "c-\(index)",
                 payload: ["leadId": .string("L-\(index)"), "stage": "new", "definitionVersion": 1, "recordVersion": 1, "data": [:]])
    }

    // SEC-CRM-0461, REL-CRM-0403: exactly once, contiguous, intact, through crashes.
    @Test("10,000 events across 4 shards, audit-service SIGKILLed and restarted twice: each event once, contiguous seq, chains intact")
    func exactlyOnceThroughCrashes() async throws {
        let deployment = try await Deployment()
        let signing = Curve25519.Signing.PrivateKey()
        let env = ["CRM_CLAIM_IDLE_MS": "300", "CRM_BATCH_SIZE": "200", "CRM_AUDIT_CHECKPOINT_EVERY": "500",
                   "CRM_AUDIT_SIGNING_KEY": signing.rawRepresentation.base64EncodedString()]
        let events = (0..<10_000).map(event)
        for chunk in stride(from: 0, to: events.count, by: 1000) {
            let commands = events[chunk..<min(chunk + 1000, events.count)].map {
                StreamCommands.xadd(deployment.router.keys(forTenant: $0.tenant).events, fields: [("envelope", $0.encoded())])
            }
            _ = try await deployment.redis.pipeline(Array(commands))
        }
        func audited() async throws -> Int {
            var total = 0
            for shard in deployment.router.allShards { total += try await deployment.redis.xlen(shard.audit) }
            return total
        }
        for round in 1...2 {
            let audit = try await deployment.start("audit-service", consumer: "audit-\(round)", extra: env)
            let target = round * 2500
            #expect(try await eventually(timeout: .seconds(30), every: .milliseconds(2)) { try await audited() >= target })
            audit.signal(SIGKILL)
            _ = await audit.waitForExit()
        }
        try await deployment.start("audit-service", consumer: "audit-3", extra: env)
        for shard in deployment.router.allShards { #expect(try await deployment.drained(shard.events, timeout: .seconds(60))) }

        for shard in deployment.router.allShards {
            let written = try await deployment.redis.xrange(shard.events).compactMap { try? EnvelopeReader().read($0.field("envelope") ?? []).id }
            let trail = try await deployment.redis.xrange(shard.audit).map(AuditRecord.init)
            let ids = trail.compactMap { try? EnvelopeReader().read($0.bytes).id }
            #expect(ids.count == written.count, "shard \(shard.shard): every event once")
            #expect(Set(ids) == Set(written), "shard \(shard.shard)")
            #expect(trail.map(\.seq) == Array(1...trail.count), "shard \(shard.shard): contiguous sequence numbers")
            let report = try await AuditVerifier.verify(shard: shard, connection: deployment.redis, publicKey: signing.publicKey)
            #expect(report.firstBreak == nil, "shard \(shard.shard): \(String(describing: report.firstBreak))")
            #expect(report.checkpointsVerified >= 4, "shard \(shard.shard) has signed checkpoints")
        }
        let verify = try await deployment.crmctl(["audit", "verify", "--public-key", signing.publicKey.rawRepresentation.base64EncodedString()])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.contains("2500 entries, chain intact"), "\(verify.output)")
        await deployment.stopAll()
    }

    @Test("crmctl audit verify names the first broken link; history is per record and per tenant; tail filters and follows")
    func verifyHistoryAndTail() async throws {
        let deployment = try await Deployment()
        let signing = Curve25519.Signing.PrivateKey()
        try await deployment.start("pipeline-service")
        try await deployment.start("audit-service", extra: ["CRM_AUDIT_CHECKPOINT_EVERY": "2",
                                                            "CRM_AUDIT_SIGNING_KEY": signing.rawRepresentation.base64EncodedString()])
        for name in ["01-definition.publish.json", "04-lead.create.json"] {
            #expect(try await deployment.crmctl(["publish", Deployment.examples.appendingPathComponent(name).path]).status == 0)
        }
        // The same lead id in another tenant of the same shard: its history stays apart.
        for tenant in ["globex"] {
            let definition = try EnvelopeReader().read(Array(try Data(contentsOf: Deployment.examples.appendingPathComponent("01-definition.publish.json"))))
            var publish = definition
            publish.id = Envelope.newID()
            publish.tenant = tenant
            let lead = Envelope(type: "lead.create", kind: .command, tenant: tenant, actor: "u-99", payload: ["leadId": "L-1001", "data": ["name": "Globex lead"]])
            for command in [publish, lead] {
                #expect(try await deployment.crmctl(["publish", "-"], input: Data(command.encoded())).status == 0)
            }
        }
        let shard = deployment.shard("acme")
        #expect(try await deployment.drained(shard.events))

        // A compliance tool following the trail sees new entries as they are appended.
        let follower = try ServiceProcess("crmctl", arguments: ["audit", "tail", "--follow", "--json", "--tenant", "acme", "--count", "100"],
                                          environment: deployment.environment, logDirectory: deployment.logs)
        #expect(await follower.waitForLog("\"seq\""), "the existing entries come first: \(follower.log)")
        let late = Envelope(type: "lead.create", kind: .command, tenant: "acme", actor: "u-17", payload: ["leadId": "L-late", "data": ["name": "Late"]])
        #expect(try await deployment.crmctl(["publish", "-"], input: Data(late.encoded())).status == 0)
        #expect(await follower.waitForLog("L-late"), "\(follower.log)")
        follower.signal(SIGTERM)
        _ = await follower.waitForExit()

        let history = try await deployment.crmctl(["history", "--tenant", "acme", "lead", "L-1001"])
        let lines = history.output.split(separator: "\n")
        #expect(lines.count == 2, "lead.created and its command.accepted: \(history.output)")
        #expect(lines.first?.contains("\"type\":\"lead.created\"") == true)
        #expect(!history.output.contains("globex"))
        #expect(!history.output.contains("u-99"))

        let people = try await deployment.crmctl(["audit", "tail", "--tenant", "globex"])
        #expect(people.output.split(separator: "\n").count == 4, "\(people.output)")
        #expect(people.output.contains("globex  u-99  lead.created  lead:L-1001"), "\(people.output)")
        let since = try await deployment.crmctl(["audit", "tail", "--json", "--tenant", "acme", "--since", "2000-01-01T00:00:00Z"])
        #expect(since.output.split(separator: "\n").count == 6, "the story's four entries and the late lead's two")

        // The README's plain redis-cli tail, as written, reads the trail.
        let readme = try String(contentsOf: ServiceProcess.packageRoot.appendingPathComponent("services/audit-service/README.md"), encoding: .utf8)
        let line = try #require(readme.split(separator: "\n").first { $0.hasPrefix("redis-cli ") && $0.contains("XREAD") })
        let words = try Self.shellWords(String(line.dropFirst("redis-cli ".count)))
        let tail = try await ServiceProcess.runTool("/usr/bin/redis-cli", arguments: ["-s", deployment.server.socketPath] + words, timeout: .seconds(10))
        #expect(tail.output.contains("lead.created"), "\(tail.output)")

        let key = signing.publicKey.rawRepresentation.base64EncodedString()
        let intact = try await deployment.crmctl(["audit", "verify", "--shard", "\(shard.shard)", "--public-key", key])
        #expect(intact.status == 0, "\(intact.output)")
        #expect(intact.output.contains("signed checkpoint(s) verified"), "\(intact.output)")

        // Truncating the tail is caught by the last checkpoint.
        let last = try #require(try await deployment.redis.xrevrange(shard.audit, count: 1).first)
        try await deployment.redis.send("XDEL", shard.audit, last.id)
        let truncated = try await deployment.crmctl(["audit", "verify", "--shard", "\(shard.shard)", "--public-key", key])
        #expect(truncated.status == 1)
        #expect(truncated.output.contains("truncated"), "\(truncated.output)")
        // Deleting an entry in the middle is named with its position.
        let third = try #require(try await deployment.redis.xrange(shard.audit, count: 3).last)
        try await deployment.redis.send("XDEL", shard.audit, third.id)
        let gap = try await deployment.crmctl(["audit", "verify", "--shard", "\(shard.shard)"])
        #expect(gap.status == 1)
        #expect(gap.output.contains("missing at position 3"), "\(gap.output)")
        await deployment.stopAll()
    }

    /// Splits a README command line into arguments, honouring single quotes.
    static func shellWords(_ line: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false
        for character in line {
            if character == "'" { quoted.toggle(); continue }
            if character == " ", !quoted {
                if !current.isEmpty { words.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }
}

@Suite("audit-service: retention without loss", .serialized)
struct AuditRetentionTests {
    @Test("the stream is trimmed only after archiving; verify runs across archive and stream; a tampered archive line is caught")
    func archiveThenTrim() async throws {
        let deployment = try await Deployment()
        let archive = deployment.server.directory.appendingPathComponent("archive")
        try await deployment.start("audit-service", extra: ["CRM_AUDIT_MAX_LEN": "50", "CRM_AUDIT_ARCHIVE_DIR": archive.path,
                                                            "CRM_AUDIT_ARCHIVE_EVERY_MS": "100"])
        let shard = deployment.shard("acme")
        let events = (0..<300).map { index in
            Envelope(type: "lead.created", kind: .event, tenant: "acme", actor: "u-1",
                     payload: ["leadId": .string("L-\(index)"), "stage": "new", "definitionVersion": 1, "recordVersion": 1, "data": [:]])
        }
        _ = try await deployment.redis.pipeline(events.map { StreamCommands.xadd(shard.events, fields: [("envelope", $0.encoded())]) })
        #expect(try await deployment.drained(shard.events))
        #expect(try await eventually { try await deployment.redis.xlen(shard.audit) <= 50 })
        let archived = try AuditArchive(directory: archive).records(shard: shard.shard)
        let kept = try await deployment.redis.xrange(shard.audit).map(AuditRecord.init)
        #expect(archived.count + kept.count == 300, "nothing lost, nothing twice")
        #expect((archived + kept).map(\.seq) == Array(1...300))

        let verify = try await deployment.crmctl(["audit", "verify", "--shard", "\(shard.shard)", "--archive", archive.path])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.output.contains("300 entries, chain intact"), "\(verify.output)")
        // A record's history stays complete across archive and stream (L-7 was audited early, so archived).
        let partial = try await deployment.crmctl(["history", "--tenant", "acme", "lead", "L-7"])
        #expect(partial.output.isEmpty, "its entry left the stream: \(partial.output)")
        let complete = try await deployment.crmctl(["history", "--tenant", "acme", "lead", "L-7", "--archive", archive.path])
        #expect(complete.output.split(separator: "\n").count == 1, "\(complete.output)")
        #expect(complete.output.contains("\"leadId\":\"L-7\""), "\(complete.output)")
        let streamOnly = try await deployment.crmctl(["audit", "verify", "--shard", "\(shard.shard)"])
        #expect(streamOnly.status == 1, "without the archive the trail starts mid-chain")

        // Edit one archived line: caught at its position.
        let segment = try #require(try FileManager.default.contentsOfDirectory(at: archive.appendingPathComponent("shard-\(shard.shard)"), includingPropertiesForKeys: nil).first)
        var lines = try String(contentsOf: segment, encoding: .utf8).split(separator: "\n").map(String.init)
        lines[9] = lines[9].replacingOccurrences(of: "L-9", with: "L-X")
        try (lines.joined(separator: "\n") + "\n").write(to: segment, atomically: true, encoding: .utf8)
        let tampered = try await deployment.crmctl(["audit", "verify", "--shard", "\(shard.shard)", "--archive", archive.path])
        #expect(tampered.status == 1)
        #expect(tampered.output.contains("edited at position 10"), "\(tampered.output)")
        await deployment.stopAll()
    }
}
