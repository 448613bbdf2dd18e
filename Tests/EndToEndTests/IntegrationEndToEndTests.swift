import Contracts
import Foundation
import RedisClient
import TestSupport
import Testing

@Suite("integration-service end to end with the real binary, as its ACL user", .serialized)
struct IntegrationEndToEndTests {
    static let secret = "whsec-e2e-0123456789abcdef"

    /// A Redis with the shipped ACL file; the harness reads as crmctl (read-only on data).
    func aclServer() async throws -> RedisServerProcess {
        let acl = ServiceProcess.packageRoot.appendingPathComponent("deploy/users.acl").path
        return try await RedisServerProcess(appendOnly: true, extraArguments: ["--aclfile", acl], adminUser: ("crmctl", "crmctl-dev-secret"))
    }

    func startService(_ server: RedisServerProcess, consumer: String, logs: URL) async throws -> ServiceProcess {
        let service = try ServiceProcess("integration-service", environment: [
            "CRM_REDIS_URL": server.url(user: "integration", password: "integration-dev-secret"), "CRM_CONSUMER": consumer,
            "CRM_INTEGRATION_LEASE_MS": "3000", "CRM_INTEGRATION_POLL_MS": "20", "CRM_INTEGRATION_BACKOFF_MS": "100",
            "CRM_CLAIM_IDLE_MS": "1000",
        ], logDirectory: logs)
        guard await service.waitForLog("] ready") else { throw TestHarnessError.timedOut("integration-service to log ready:\n\(service.log)") }
        return service
    }

    func publish(_ server: RedisServerProcess, _ command: Envelope) async throws -> (status: Int32, output: String) {
        try await ServiceProcess.run("crmctl", arguments: ["publish", "-"], environment: ["CRM_REDIS_URL": server.url(user: "crmctl", password: "crmctl-dev-secret")],
                                     input: Data(command.encoded()))
    }

    // REL-CRM-0403, REL-CRM-0409, SEC-CRM-0423: no call is lost, none is made under another key.
    @Test("integration-service SIGKILLed mid-call: another instance retries the call with the same idempotency key, exactly one success event")
    func sigkillMidCall() async throws {
        let server = try await aclServer()
        let logs = server.directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        // The first request is held far longer than the test: the service is killed while it waits.
        let receiver = try await WebhookReceiver(secret: Self.secret, arguments: ["--hang-first-ms", "60000"])
        let doomed = try await startService(server, consumer: "doomed", logs: logs)

        let configure = Envelope(type: MessageType.integrationConfigure, kind: .command, tenant: "acme", actor: "u-17", payload: [
            "integration": "crm-hook", "url": .string(receiver.url), "secret": .string(Self.secret), "timeoutMs": 2000,
        ])
        let configured = try await publish(server, configure)
        #expect(configured.status == 0, "\(configured.output)")
        let invoke = Envelope(type: MessageType.integrationInvoke, kind: .command, tenant: "acme", actor: "u-17", payload: [
            "callId": "C-9001", "integration": "crm-hook", "input": ["leadId": "L-1001"], "subject": "lead:L-1001", "sagaId": "S-9", "step": 1,
        ])
        let accepted = try await publish(server, invoke)
        #expect(accepted.status == 0, "\(accepted.output)")
        #expect(accepted.output.contains("command.accepted"))

        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(5)) { !receiver.requests().isEmpty }, "the first attempt reached the receiver")
        doomed.signal(SIGKILL)
        #expect(await doomed.waitForExit() == 128 + SIGKILL)

        let redis = server.connection()
        let shard = ShardRouter(shards: 4).keys(forTenant: "acme")
        func events(_ type: String) async throws -> [Envelope] {
            try await redis.xrange(shard.events).map { try EnvelopeReader().read($0.field("envelope") ?? []) }.filter { $0.type == type }
        }
        #expect(try await events(MessageType.integrationSucceeded).isEmpty, "nothing reported while the call hangs")
        let survivor = try await startService(server, consumer: "survivor", logs: logs)
        #expect(try await eventually(timeout: .seconds(20)) { try await events(MessageType.integrationSucceeded).count == 1 }, "\(survivor.log)")
        try await Task.sleep(for: .milliseconds(500))
        let succeeded = try await events(MessageType.integrationSucceeded)
        #expect(succeeded.count == 1, "exactly one success")
        #expect(succeeded.first?.payload["attempts"] == 2, "the killed attempt counts")
        #expect(succeeded.first?.causationId == invoke.id)
        let requests = receiver.requests()
        #expect(requests.count == 2, "\(requests)")
        #expect(Set(requests.compactMap(\.key)) == ["S-9:1"], "the retry carries the same idempotency key")
        #expect(requests.allSatisfy { $0.verified })
        #expect(try await redis.xlen(shard.dlq) == 0)
        #expect(try await events(MessageType.integrationFailed).isEmpty)

        // The events the real binary wrote validate against their schemas.
        let file = server.directory.appendingPathComponent("events.jsonl")
        let all = try await redis.xrange(shard.events).map { String(decoding: $0.field("envelope") ?? [], as: UTF8.self) }
        try all.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
        let validation = try await ServiceProcess.runTool("/usr/bin/env", arguments: ["python3", ServiceProcess.packageRoot.appendingPathComponent("scripts/validate_contracts.py").path, file.path])
        #expect(validation.status == 0, "\(validation.output)")
        #expect(!all.contains { $0.contains(Self.secret) }, "the secret never reaches an event")
        #expect(!survivor.log.contains(Self.secret) && !doomed.log.contains(Self.secret), "nor a log")

        survivor.signal(SIGTERM)
        #expect(await survivor.waitForExit() == 0, "\(survivor.log)")
    }
}

@Suite("crmctl integrations with the real binaries, as their ACL users", .serialized)
struct IntegrationOperatorTests {
    @Test("crmctl integrations: list with health and breaker state (never the secret), dead-lettered calls, retry with a fresh budget and the same key, discard")
    func operatorCommands() async throws {
        let e2e = IntegrationEndToEndTests()
        let server = try await e2e.aclServer()
        let logs = server.directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let flaky = try await WebhookReceiver(secret: IntegrationEndToEndTests.secret, arguments: ["--fail", "2", "--status", "503"])
        let gone = try await WebhookReceiver(secret: IntegrationEndToEndTests.secret, arguments: ["--always", "410"])
        let service = try ServiceProcess("integration-service", environment: [
            "CRM_REDIS_URL": server.url(user: "integration", password: "integration-dev-secret"), "CRM_CONSUMER": "operator-test",
            "CRM_INTEGRATION_MAX_ATTEMPTS": "2", "CRM_INTEGRATION_BACKOFF_MS": "100", "CRM_INTEGRATION_POLL_MS": "20",
        ], logDirectory: logs)
        #expect(await service.waitForLog("] ready"))
        let crmctl = ["CRM_REDIS_URL": server.url(user: "crmctl", password: "crmctl-dev-secret")]
        for (name, url) in [("flaky", flaky.url), ("gone", gone.url)] {
            let result = try await e2e.publish(server, Envelope(type: MessageType.integrationConfigure, kind: .command, tenant: "acme", actor: "u-17", payload: [
                "integration": .string(name), "url": .string(url), "secret": .string(IntegrationEndToEndTests.secret)]))
            #expect(result.status == 0, "\(result.output)")
        }
        for (call, integration) in [("C-1", "flaky"), ("C-2", "gone")] {
            let result = try await e2e.publish(server, Envelope(type: MessageType.integrationInvoke, kind: .command, tenant: "acme", actor: "u-17", payload: [
                "callId": .string(call), "integration": .string(integration), "input": ["n": 1]]))
            #expect(result.status == 0, "\(result.output)")
        }
        func dead() async throws -> [JSONValue] {
            let listed = try await ServiceProcess.run("crmctl", arguments: ["integrations", "dead", "--tenant", "acme"], environment: crmctl)
            return try listed.output.split(separator: "\n").map { try JSONValue.parse(Array($0.utf8)) }
        }
        #expect(try await eventually(timeout: .seconds(10)) { try await dead().count == 2 })
        let entries = try await dead()
        let flakyEntry = try #require(entries.first { $0["callId"] == "C-1" })
        #expect(flakyEntry["reason"] == "integration_retries_exhausted")
        #expect(flakyEntry["attempts"] == 2)
        #expect(entries.first { $0["callId"] == "C-2" }?["reason"] == "integration_failed")

        let retried = try await ServiceProcess.run("crmctl", arguments: ["integrations", "retry", flakyEntry["entryId"]!.stringValue!, "--shard", "2"], environment: crmctl)
        #expect(retried.status == 0, "\(retried.output)")
        #expect(retried.output.contains("command.accepted"), "\(retried.output)")
        let redis = server.connection()
        let shard = ShardRouter(shards: 4).keys(forTenant: "acme")
        #expect(try await eventually(timeout: .seconds(10)) {
            try await redis.xrange(shard.events).contains { String(decoding: $0.field("envelope") ?? [], as: UTF8.self).contains("integration.succeeded") }
        })
        #expect(Set(flaky.requests().compactMap(\.key)) == ["C-1"], "the retried call keeps its idempotency key")
        #expect(flaky.requests().count == 3)

        let goneEntry = try #require(try await dead().first { $0["callId"] == "C-2" })
        let discarded = try await ServiceProcess.run("crmctl", arguments: ["integrations", "discard", goneEntry["entryId"]!.stringValue!, "--shard", "2"], environment: crmctl)
        #expect(discarded.status == 0, "\(discarded.output)")
        #expect(try await dead().isEmpty)

        // Health arrives with the heartbeat's metrics (every 5 s).
        var lines: [JSONValue] = []
        #expect(try await eventually(timeout: .seconds(12), every: .milliseconds(500)) {
            let listed = try await ServiceProcess.run("crmctl", arguments: ["integrations", "list", "--tenant", "acme"], environment: crmctl)
            lines = try listed.output.split(separator: "\n").map { try JSONValue.parse(Array($0.utf8)) }
            return lines.first { $0["integration"] == "flaky" }?["attempts"]?["succeeded"] == 1
        }, "\(lines)")
        let flakyHealth = try #require(lines.first { $0["integration"] == "flaky" })
        #expect(flakyHealth["attempts"]?["failed_transient"] == 2)
        #expect(flakyHealth["breaker"] == "closed")
        #expect(flakyHealth["url"] == .string(flaky.url))
        #expect(flakyHealth["secret"] == nil)
        #expect(lines.first { $0["integration"] == "gone" }?["attempts"]?["failed_permanent"] == 1)
        service.signal(SIGTERM)
        #expect(await service.waitForExit() == 0)
    }
}
