import Contracts
import Foundation
import RedisClient
import TestSupport
import Synchronization
import Testing

@Suite("gateway over HTTP with the real binaries", .serialized)
struct GatewayTests {
    /// The API key requests carry unless told otherwise.
    final class CurrentKey: Sendable {
        let value = Mutex<String?>(nil)
    }
    let key = CurrentKey()

    /// An admin and an API key for `tenant`, made with crmctl as an operator would.
    func apiKey(_ deployment: Deployment, tenant: String, user: String = "u-17") async throws -> String {
        let command = Envelope(type: "directory.put_user", kind: .command, tenant: tenant, actor: user, payload: ["userId": .string(user), "roles": ["admin", "sales"]])
        #expect(try await deployment.crmctl(["publish", "-"], input: Data(command.encoded())).status == 0)
        let created = try await deployment.crmctl(["apikey", "create", "--tenant", tenant, "--actor", user, "--user", user, "--name", "test"])
        #expect(created.status == 0, "\(created.output)")
        return created.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Calls the gateway with curl; returns the HTTP status and body.
    func http(_ method: String, _ url: String, body: Data? = nil, key: String? = nil) async throws -> (status: Int, body: String) {
        var arguments = ["-s", "-o", "/dev/stdout", "-w", "\n%{http_code}", "-X", method, url]
        if let key = key ?? self.key.value.withLock({ $0 }) { arguments += ["-H", "authorization: Bearer \(key)"] }
        if body != nil { arguments += ["--data-binary", "@-", "-H", "content-type: application/json"] }
        let result = try await ServiceProcess.runTool("/usr/bin/curl", arguments: arguments, input: body)
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    @Test("POST /v1/commands returns the outcome (200 accepted, 422 rejected, 400 bad envelope); records, health and metrics read back")
    func commandsOverHTTP() async throws {
        let deployment = try await Deployment()
        try await deployment.start("pipeline-service")
        try await deployment.start("audit-service")
        try await deployment.start("assignment-service")
        let acme = try await apiKey(deployment, tenant: "acme")
        let globex = try await apiKey(deployment, tenant: "globex", user: "u-9")
        let gateway = try await deployment.start("gateway", extra: ["CRM_HTTP_PORT": "0"])
        let port = try #require(gateway.log.split(separator: " ").first { $0.hasPrefix("http.port=") }?.dropFirst("http.port=".count))
        let base = "http://127.0.0.1:\(port)"

        #expect(try await http("GET", "\(base)/healthz").status == 200)
        // The OpenAPI document describes exactly the routes GatewayRoutes registers.
        let openapi = try await http("GET", "\(base)/v1/openapi.json")
        #expect(openapi.status == 200)
        let document = try JSONValue.parse(Array(openapi.body.utf8))
        var described: Set<String> = []
        for (path, operations) in document["paths"]?.objectValue ?? [:] {
            for method in (operations.objectValue ?? [:]).keys { described.insert("\(method.uppercased()) \(path)") }
        }
        let routesFolder = ServiceProcess.packageRoot.appendingPathComponent("Sources/GatewayService")
        let source = try FileManager.default.contentsOfDirectory(atPath: routesFolder.path).filter { $0.hasSuffix(".swift") }.sorted()
            .map { try String(contentsOf: routesFolder.appendingPathComponent($0), encoding: .utf8) }.joined(separator: "\n")
        let registered = Set(source.matches(of: /router\.(get|post|put|delete)\("([^"]*)"\)/).map { match in
            let path = "/" + match.output.2.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
            return "\(match.output.1.uppercased()) \(path)"
        })
        #expect(!registered.isEmpty && described == registered, "described \(described.sorted()) vs registered \(registered.sorted())")
        // SEC-CRM-0437: no key, a made-up key, a key of another tenant: refused.
        let example = try Data(contentsOf: Deployment.examples.appendingPathComponent("01-definition.publish.json"))
        #expect(try await http("POST", "\(base)/v1/commands", body: example).status == 401)
        #expect(try await http("POST", "\(base)/v1/commands", body: example, key: "crm.acme.\(String(repeating: "x", count: 43))").status == 401)
        #expect(try await http("GET", "\(base)/v1/tenants/acme/leads/L-1001", key: "not-a-key").status == 401)
        let foreign = try await http("POST", "\(base)/v1/commands", body: example, key: globex)
        #expect(foreign.status == 403 && foreign.body.contains("wrong_tenant"), "\(foreign.body)")
        key.value.withLock { $0 = acme }
        for name in ["01-definition.publish.json", "04-lead.create.json"] {
            let body = try Data(contentsOf: Deployment.examples.appendingPathComponent(name))
            let response = try await http("POST", "\(base)/v1/commands", body: body)
            #expect(response.status == 200, "\(name): \(response.body)")
            #expect(response.body.contains("\"type\":\"command.accepted\""))
        }
        let rejected = Envelope(type: "lead.create", kind: .command, tenant: "acme", actor: "u-17", payload: ["leadId": "L-2", "definitionVersion": 5])
        let refusal = try await http("POST", "\(base)/v1/commands", body: Data(rejected.encoded()))
        #expect(refusal.status == 422, "\(refusal.body)")
        #expect(refusal.body.contains("\"code\":\"unknown_definition\""))
        let oversized = try await http("POST", "\(base)/v1/commands", body: Data(repeating: UInt8(ascii: " "), count: (1 << 20) + 1))
        #expect(oversized.status == 413, "\(oversized.body)")
        #expect(oversized.body.contains("too_large"))
        let malformed = try await http("POST", "\(base)/v1/commands", body: Data("{\"id\":".utf8))
        #expect(malformed.status == 400)
        #expect(malformed.body.contains("malformed_json"))
        var event = rejected
        event.kind = .event
        #expect(try await http("POST", "\(base)/v1/commands", body: Data(event.encoded())).status == 400)

        let lead = try await http("GET", "\(base)/v1/tenants/acme/leads/L-1001")
        #expect(lead.status == 200)
        #expect(lead.body.contains("\"stage\":\"new\""))
        #expect(try await http("GET", "\(base)/v1/tenants/acme/leads/L-404").status == 404)
        // FUN-CRM-0255: the record's audit history, its tenant's only.
        #expect(try await deployment.drained(deployment.shard("acme").events))
        let history = try await http("GET", "\(base)/v1/tenants/acme/lead/L-1001/history")
        #expect(history.status == 200)
        let entries = try JSONValue.parse(Array(history.body.utf8))
        guard case .array(let list) = entries else { Issue.record("history is not an array: \(history.body)"); return }
        #expect(list.map { $0["type"]?.stringValue } == ["lead.created", "command.accepted"])
        #expect(try await http("GET", "\(base)/v1/tenants/globex/lead/L-1001/history").status == 404, "another tenant's data is not found")
        #expect(try await http("GET", "\(base)/v1/tenants/acme/leads/L-1001", key: globex).status == 404)
        #expect(try await http("GET", "\(base)/v1/tenants/globex/lead/L-1001/history", key: globex).body == "[]")
        #expect(try await http("GET", "\(base)/v1/tenants/ACME%7B/leads/L-1").status == 400)
        #expect(try await eventually { try await http("GET", "\(base)/metrics").body.contains("crm_messages_handled_total{service=\"pipeline\"}") })

        // USE-CRM-0558: an interaction's file reads back through the gateway, and not once altered.
        let logged = try await http("POST", "\(base)/v1/commands", body: try Data(contentsOf: Deployment.examples.appendingPathComponent("27-interaction.log.json")))
        #expect(logged.status == 200, "\(logged.body)")
        let sha = "7e33cc56116751b05b802282bddc83d8da344c8a7b777c5f8acbd512e81bebf6"
        let file = try await http("GET", "\(base)/v1/tenants/acme/attachments/\(sha)")
        #expect(file.status == 200)
        #expect(file.body == "Budget confirmed: 30,000 GBP.\n")
        #expect(try await http("GET", "\(base)/v1/tenants/globex/attachments/\(sha)").status == 404, "attachments are per tenant")
        try await deployment.redis.send("HSET", deployment.shard("acme").record(tenant: "acme", entity: "blob", id: sha), "d", "forged")
        let altered = try await http("GET", "\(base)/v1/tenants/acme/attachments/\(sha)")
        #expect(altered.status == 500)
        #expect(altered.body.contains("corrupted"))

        // A user's queue, from the projection assignment-service keeps.
        for command in [Envelope(type: "directory.put_user", kind: .command, tenant: "acme", actor: "u-17", payload: ["userId": "u-18", "roles": ["sales"], "teams": ["sales"]]),
                        Envelope(type: "assignment.request", kind: .command, tenant: "acme", actor: "u-17", payload: ["subject": "lead:L-1001", "strategy": "round_robin", "team": "sales"])] {
            let sent = try await http("POST", "\(base)/v1/commands", body: Data(command.encoded()))
            #expect(sent.status == 200, "\(sent.body)")
        }
        let queue = try await http("GET", "\(base)/v1/tenants/acme/users/u-18/queue")
        let page = try JSONValue.parse(Array(queue.body.utf8))
        #expect(queue.status == 200 && page["open"] == 1 && page["items"]?.arrayValue?.count == 1, "\(queue.body)")
        #expect(page["items"]?.arrayValue?.first?["subject"] == "lead:L-1001" && page["items"]?.arrayValue?.first?["stage"] == "new")
        #expect(try await http("GET", "\(base)/v1/tenants/acme/users/u-18/queue?open=false").body.contains("\"items\":[]"))
        #expect(try await http("GET", "\(base)/v1/tenants/acme/users/u-18/queue", key: globex).status == 404)

        // The actor is the key's user, whatever the envelope says.
        let impersonation = Envelope(type: "lead.create", kind: .command, tenant: "acme", actor: "u-someone-else", payload: ["leadId": "L-3", "data": ["name": "Impostor test"]])
        #expect(try await http("POST", "\(base)/v1/commands", body: Data(impersonation.encoded())).status == 200)
        #expect(try await deployment.envelopes(deployment.shard("acme").events).last { $0.type == "lead.created" }?.actor == "u-17")
        // A revoked key stops working at once.
        let revoked = try await deployment.crmctl(["apikey", "revoke", "--actor", "u-17", "--user", "u-17", acme])
        #expect(revoked.status == 0, "\(revoked.output)")
        #expect(try await http("GET", "\(base)/v1/tenants/acme/leads/L-1001").status == 401)

        gateway.signal(SIGTERM)
        #expect(await gateway.waitForExit() == 0, "\(gateway.log)")
        await deployment.stopAll()
    }
}
