import Contracts
import Foundation
import RedisClient
import TestSupport
import Testing

/// The pages in a real browser: redis-server, the real services and gateway binaries, and headless
/// Chromium driven by scripts/browser_test.py (selenium). scripts/install-deps.sh installs chromium,
/// chromium-driver and selenium; without them this test fails and says so.
@Suite("gateway pages in headless Chromium", .serialized)
struct BrowserTests {
    @Test("log in, see the seeded leads and the pending approval, switch to the whole tenant by keyboard, apply an action, add a custom field and see a create form refuse a value that breaks it")
    func pagesInABrowser() async throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: run scripts/install-deps.sh (make test does)")
        }
        let deployment = try await Deployment()
        for service in ["pipeline-service", "assignment-service", "audit-service"] { try await deployment.start(service) }
        func publish(_ type: String, _ payload: JSONValue) async throws {
            let envelope = Envelope(type: type, kind: .command, tenant: "acme", actor: "u-17", payload: payload)
            let sent = try await deployment.crmctl(["publish", "--timeout", "15", "-"], input: Data(envelope.encoded()))
            #expect(sent.status == 0 && sent.output.contains("command.accepted"), "\(type): \(sent.output)")
        }
        try await publish("directory.put_user", ["userId": "u-17", "roles": ["admin", "sales"], "name": "Grace Hopper", "teams": ["sales"]])
        try await publish("directory.configure", ["allowSelfAssignment": true])
        let definition = try EnvelopeReader().read(Array(Data(contentsOf: Deployment.examples.appendingPathComponent("01-definition.publish.json"))))
        try await publish("definition.publish", definition.payload)
        for number in 1...3 {
            try await publish("lead.create", ["leadId": .string("L-300\(number)"), "data": ["name": .string("Seeded lead \(number)"), "score": .integer(Int64(number * 30))]])
            try await publish("assignment.request", ["subject": .string("lead:L-300\(number)"), "strategy": "manual", "assignee": "u-17"])
        }
        // Another lead nobody owns (only the whole tenant's view lists it) and an approval waiting on L-3002.
        try await publish("lead.create", ["leadId": "L-3004", "data": ["name": "Nobody's lead", "score": 10]])
        try await publish("approval.request", ["approvalId": "AP-3002", "subject": "lead:L-3002", "action": "qualify",
                                               "approvers": ["u-17"], "strategy": "first_response"])
        let key = try await deployment.crmctl(["apikey", "create", "--tenant", "acme", "--actor", "u-17", "--user", "u-17", "--name", "browser"])
        #expect(key.status == 0, "\(key.output)")
        let gateway = try await deployment.start("gateway", extra: ["CRM_HTTP_PORT": "0", "CRM_DASHBOARD_REFRESH_S": "2"])
        let port = try #require(gateway.log.split(separator: " ").first { $0.hasPrefix("http.port=") }?.dropFirst("http.port=".count))

        let screenshots = ServiceProcess.packageRoot.appendingPathComponent(".run/screenshots").path
        let script = ServiceProcess.packageRoot.appendingPathComponent("scripts/browser_test.py").path
        let run = try await ServiceProcess.runTool("/usr/bin/env", arguments: ["python3", script, "http://127.0.0.1:\(port)", key.output.trimmingCharacters(in: .whitespacesAndNewlines), screenshots],
                                                   timeout: .seconds(180))
        #expect(run.status == 0, "\(run.output)\ngateway log:\n\(gateway.log.suffix(3000))")
        #expect(run.output.contains("browser test passed"), "\(run.output)")
        // What the browser did is in Redis: the applied action and the custom field.
        let lead = try await deployment.redis.send("HGET", deployment.shard("acme").record(tenant: "acme", entity: "lead", id: "L-3001"), "d").bytes ?? []
        #expect(String(decoding: lead, as: UTF8.self).contains("\"stage\":\"contacted\""))
        #expect(FileManager.default.fileExists(atPath: screenshots + "/04-record.png"))
        await deployment.stopAll()
    }
}
