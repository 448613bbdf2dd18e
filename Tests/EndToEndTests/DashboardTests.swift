import Contracts
import CrmKit
import CrmRedis
import Foundation
import RedisClient
import TestSupport
import Testing

@Suite("dashboard projection and queries with the real binaries", .serialized)
struct DashboardTests {
    func command(_ type: String, _ payload: JSONValue, tenant: String = "acme", actor: String = "boss") -> Envelope {
        Envelope(type: type, kind: .command, tenant: tenant, actor: actor, payload: payload)
    }

    /// Writes commands straight onto their streams, many per round trip.
    func publishAll(_ commands: [Envelope], _ deployment: Deployment) async throws {
        for chunk in stride(from: 0, to: commands.count, by: 500) {
            let part = commands[chunk..<min(chunk + 500, commands.count)]
            _ = try await deployment.redis.pipeline(part.map {
                StreamCommands.xadd(deployment.shard($0.tenant).commands(CommandRouting.stream(forType: $0.type)!), fields: [("envelope", $0.encoded())])
            })
        }
    }

    /// Calls the gateway with curl; returns the HTTP status and the body as JSON (null when it is not JSON).
    func http(_ url: String, key: String?) async throws -> (status: Int, body: JSONValue) {
        var arguments = ["-s", "-o", "/dev/stdout", "-w", "\n%{http_code}", url]
        if let key { arguments += ["-H", "authorization: Bearer \(key)"] }
        let result = try await ServiceProcess.runTool("/usr/bin/curl", arguments: arguments, input: nil)
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        let body = lines.dropLast().joined(separator: "\n")
        return (Int(lines.last ?? "") ?? 0, (try? JSONValue.parse(Array(body.utf8))) ?? .null)
    }

    func subjects(_ page: DashboardPage) -> [String] { page.items.map(\.subject) }

    // FUN-CRM-0281, USE-CRM-0557, FUN-CRM-0286, USE-CRM-0556: the projection follows every fact in the
    // commit that changes it — creation, stage changes and closing (pipeline-service), assignment and
    // approvals (assignment-service), SLA marks (sla-timer-service) — and answers by scope and filter.
    @Test("create, assign, SLA at risk and breached, stage change, approval, close: each reflected in pending pages and the funnel")
    func projectionFollowsTheServices() async throws {
        let deployment = try await Deployment()
        try await deployment.start("pipeline-service")
        try await deployment.start("assignment-service")
        try await deployment.start("sla-timer-service")
        let client = CrmClient(endpoint: try RedisEndpoint(url: deployment.server.url), shards: 4)
        func accepted(_ envelope: Envelope) async throws {
            let result = try await client.send(envelope, timeout: .seconds(20))
            #expect(result.accepted, "\(envelope.type): \(result.outcome.payload)")
        }
        try await accepted(command("directory.put_user", ["userId": "boss", "roles": ["admin"]]))
        for (user, team) in [("u1", "sales"), ("u2", "sales"), ("u3", "support")] {
            try await accepted(command("directory.put_user", ["userId": .string(user), "roles": ["sales"], "teams": [.string(team)]]))
        }
        try await accepted(command("definition.publish", [
            "entity": "lead", "name": "Leads",
            "stages": [["name": "new", "initial": true], ["name": "contacted"], ["name": "won", "terminal": "won"], ["name": "lost", "terminal": "lost"]],
            "transitions": [["action": "contact", "from": ["new"], "to": "contacted"],
                            ["action": "close_won", "from": ["contacted"], "to": "won", "approval": true],
                            ["action": "close_lost", "from": ["new", "contacted"], "to": "lost"]],
            "sla": [["stage": "new", "name": "first_response", "within": "PT1S", "warnAt": 0.5],
                    ["stage": "contacted", "name": "follow_up", "within": "PT20S", "warnAt": 0.05]],
        ]))
        try await accepted(command("definition.publish", [
            "entity": "opportunity", "name": "Deals", "stages": [["name": "open", "initial": true], ["name": "won", "terminal": "won"]],
            "transitions": [["action": "win", "from": ["open"], "to": "won"]],
        ]))
        for id in ["L-1", "L-2", "L-3"] { try await accepted(command("lead.create", ["leadId": .string(id)])) }
        try await accepted(command("opportunity.create", ["opportunityId": "O-1"]))

        let query = DashboardQuery(pool: RedisPool(endpoint: try RedisEndpoint(url: deployment.server.url), size: 2), router: deployment.router)
        func page(_ parameters: [String: String], caller: String? = nil) async throws -> DashboardPage {
            try await query.pending(tenant: "acme", filter: DashboardFilter.parse(parameters, caller: caller), now: Int64(Date().timeIntervalSince1970 * 1000))
        }
        func funnel() async throws -> [String: Int] {
            Dictionary(uniqueKeysWithValues: try await query.funnel(tenant: "acme").map { ("\($0.kind):\($0.stage)", $0.open) })
        }
        #expect(try await funnel() == ["lead:new": 3, "lead:contacted": 0, "lead:won": 0, "lead:lost": 0, "opportunity:open": 1, "opportunity:won": 0])
        #expect(subjects(try await page([:])) == ["lead:L-1", "lead:L-2", "lead:L-3", "opportunity:O-1"], "oldest first")
        #expect(subjects(try await page(["sort": "newest"])) == ["opportunity:O-1", "lead:L-3", "lead:L-2", "lead:L-1"])
        #expect(subjects(try await page(["kind": "opportunity"])) == ["opportunity:O-1"])

        // Assignment: owner and team, by scope.
        try await accepted(command("assignment.request", ["subject": "lead:L-1", "strategy": "manual", "assignee": "u1"]))
        try await accepted(command("assignment.request", ["subject": "lead:L-2", "strategy": "manual", "assignee": "u2"]))
        try await accepted(command("assignment.request", ["subject": "lead:L-3", "strategy": "round_robin", "team": "support"]))
        #expect(subjects(try await page(["scope": "user"], caller: "u1")) == ["lead:L-1"])
        #expect(try await page(["scope": "user", "user": "u1"]).items.first?.team == "sales")
        #expect(subjects(try await page(["scope": "team", "team": "sales"])) == ["lead:L-1", "lead:L-2"])
        #expect(subjects(try await page(["scope": "team", "team": "support"])) == ["lead:L-3"])
        #expect(subjects(try await page(["owner": "u2"])) == ["lead:L-2"])
        #expect(subjects(try await page(["scope": "user", "user": "u1", "owner": "u2"])).isEmpty, "two owners: nothing matches both")

        // SLA: the 1 s first-response clocks of the three new leads breach; the opportunity has none.
        let breached = try await eventually(timeout: .seconds(15)) { try await subjects(page(["sla": "breached"])) == ["lead:L-1", "lead:L-2", "lead:L-3"] }
        let current = try await page([:]).items
        #expect(breached, "\(current)")
        #expect(subjects(try await page(["sla": "none"])) == ["opportunity:O-1"])
        #expect(subjects(try await page(["sla": "breached", "scope": "team", "team": "sales"])) == ["lead:L-1", "lead:L-2"])

        // A stage change: the old stage's SLA no longer counts; the new stage's clock starts and goes at risk.
        try await accepted(command("lead.apply", ["leadId": "L-1", "action": "contact"]))
        #expect(try await eventually(timeout: .seconds(15)) { try await subjects(page(["sla": "at_risk"])) == ["lead:L-1"] })
        let contacted = try #require(try await page(["kind": "lead", "stage": "contacted"]).items.first)
        #expect(contacted.subject == "lead:L-1" && contacted.sla == "at_risk" && contacted.slaDue != nil && contacted.owner == "u1")
        let afterContact = try await funnel()
        #expect(afterContact["lead:new"] == 2 && afterContact["lead:contacted"] == 1)
        let byDue = try await page(["sort": "due"]).items
        #expect(Set(byDue.map(\.subject)) == ["lead:L-1", "lead:L-2", "lead:L-3"] && byDue.map { $0.slaDue ?? 0 } == byDue.map { $0.slaDue ?? 0 }.sorted())
        #expect(subjects(try await page(["sort": "stage"])) == ["lead:L-2", "lead:L-3", "lead:L-1", "opportunity:O-1"], "funnel order, oldest first within a stage")

        // Approvals: pending while requested; decided and applied (closing the lead) takes it off the dashboard.
        try await accepted(command("approval.request", ["approvalId": "AP-1", "subject": "lead:L-1", "action": "close_won",
                                                        "approvers": ["u2"], "strategy": "first_response"], actor: "u1"))
        let waiting = try await page(["approval": "pending"]).items
        #expect(waiting.map(\.subject) == ["lead:L-1"] && waiting.first?.pendingApprovals == 1)
        #expect(subjects(try await page(["approval": "none"])) == ["lead:L-2", "lead:L-3", "opportunity:O-1"])
        try await accepted(command("approval.vote", ["approvalId": "AP-1", "vote": "approve"], actor: "u2"))
        #expect(try await eventually(timeout: .seconds(15)) { try await !subjects(page([:])).contains("lead:L-1") }, "won: closed, not pending")
        #expect(try await page(["approval": "pending"]).items.isEmpty)
        let afterWin = try await funnel()
        #expect(afterWin["lead:contacted"] == 0 && afterWin["lead:won"] == 0, "the funnel counts open records only")
        try await accepted(command("lead.apply", ["leadId": "L-2", "action": "close_lost"]))
        #expect(try await page(["scope": "user", "user": "u2"]).items.isEmpty)
        #expect(subjects(try await page(["sla": "breached"])) == ["lead:L-3"])
        // Age: everything here is seconds old.
        #expect(try await page(["minAge": "PT1H"]).items.isEmpty)
        #expect(subjects(try await page(["maxAge": "PT1H"])) == ["lead:L-3", "opportunity:O-1"])

        // crmctl reads the same projection.
        let funnelLines = try await deployment.crmctl(["dashboard", "funnel", "--tenant", "acme"])
        #expect(funnelLines.status == 0 && funnelLines.output.contains("{\"kind\":\"lead\",\"open\":1,\"stage\":\"new\"}"), "\(funnelLines.output)")
        let pendingLines = try await deployment.crmctl(["dashboard", "pending", "--tenant", "acme", "--scope", "team", "--team", "support"])
        #expect(pendingLines.status == 0 && pendingLines.output.contains("\"subject\":\"lead:L-3\""), "\(pendingLines.output)")
        let refused = try await deployment.crmctl(["dashboard", "pending", "--tenant", "acme", "--sort", "random"])
        #expect(refused.status != 0 && refused.output.contains("sort"), "\(refused.output)")
        await client.close()
        await deployment.stopAll()
    }

    // FUN-CRM-0281, SEC-CRM-0449, SEC-CRM-0437, PER-CRM-0330: the HTTP API — API key to tenant, other
    // tenants 404, bad parameters 400 with code and field; cursors neither repeat nor skip a record
    // while records are being inserted.
    @Test("GET /dashboard/pending and /dashboard/funnel over HTTP: auth, isolation, 400s, cursor pages stable under inserts")
    func gatewayDashboard() async throws {
        let deployment = try await Deployment()
        try await deployment.start("pipeline-service")
        try await deployment.start("assignment-service")
        let client = CrmClient(endpoint: try RedisEndpoint(url: deployment.server.url), shards: 4)
        for tenant in ["acme", "globex"] {
            let result = try await client.send(command("directory.put_user", ["userId": "boss", "roles": ["admin"]], tenant: tenant), timeout: .seconds(20))
            #expect(result.accepted)
            let lead = try await client.send(command("definition.publish", [
                "entity": "lead", "name": "Leads", "stages": [["name": "new", "initial": true], ["name": "won", "terminal": "won"]],
                "transitions": [["action": "win", "from": ["new"], "to": "won"]],
            ], tenant: tenant), timeout: .seconds(20))
            #expect(lead.accepted)
        }
        var keys: [String: String] = [:]
        for tenant in ["acme", "globex"] {
            let created = try await deployment.crmctl(["apikey", "create", "--tenant", tenant, "--actor", "boss", "--user", "boss", "--name", "test"])
            #expect(created.status == 0, "\(created.output)")
            keys[tenant] = created.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let gateway = try await deployment.start("gateway", extra: ["CRM_HTTP_PORT": "0"])
        let port = try #require(gateway.log.split(separator: " ").first { $0.hasPrefix("http.port=") }?.dropFirst("http.port=".count))
        let base = "http://127.0.0.1:\(port)/v1/tenants"

        let shard = deployment.shard("acme")
        try await publishAll((0..<300).map { command("lead.create", ["leadId": .string("P-\($0)")]) }, deployment)
        try await publishAll([command("lead.create", ["leadId": "G-1"], tenant: "globex")], deployment)
        #expect(try await deployment.drained(shard.commands(.pipeline), timeout: .seconds(60)))
        #expect(try await deployment.drained(deployment.shard("globex").commands(.pipeline), timeout: .seconds(60)))

        let funnel = try await http("\(base)/acme/dashboard/funnel", key: keys["acme"])
        #expect(funnel.status == 200 && funnel.body["funnel"]?["lead"]?.arrayValue?.first == ["stage": "new", "open": 300], "\(funnel.body)")
        #expect(funnel.body["open"]?["lead"] == 300)

        // Tenant isolation and authentication.
        #expect(try await http("\(base)/acme/dashboard/pending", key: nil).status == 401)
        #expect(try await http("\(base)/globex/dashboard/pending", key: keys["acme"]).status == 404)
        #expect(try await http("\(base)/globex/dashboard/funnel", key: keys["acme"]).status == 404)
        let own = try await http("\(base)/globex/dashboard/pending", key: keys["globex"])
        #expect(own.status == 200 && own.body["items"]?.arrayValue?.map { $0["subject"] } == ["lead:G-1"], "\(own.body)")
        let item = try #require(own.body["items"]?.arrayValue?.first)
        #expect(item["kind"] == "lead" && item["id"] == "G-1" && item["stage"] == "new" && item["pendingApprovals"] == 0 && item["owner"] == nil)
        #expect(item["createdAt"]?.stringValue?.hasSuffix("Z") == true && (item["ageSeconds"]?.doubleValue ?? -1) >= 0, "\(item)")

        // Bad parameters: 400 with the code and the parameter.
        for (query, code, field) in [("sort=random", "invalid_parameter", "sort"), ("limit=1001", "invalid_parameter", "limit"),
                                     ("cursor=abc", "invalid_cursor", "cursor"), ("scope=team", "invalid_parameter", "team"),
                                     ("minAge=soon", "invalid_parameter", "minAge"), ("sla=late", "invalid_parameter", "sla"),
                                     ("bogus=1", "unknown_parameter", "bogus")] {
            let response = try await http("\(base)/acme/dashboard/pending?\(query)", key: keys["acme"])
            #expect(response.status == 400 && response.body["error"]?["code"]?.stringValue == code && response.body["error"]?["field"]?.stringValue == field,
                    "\(query): \(response.status) \(response.body)")
        }

        // Pages of 40, oldest first and newest first, while 120 more leads arrive: no record twice, none of the first 300 missed.
        for sort in ["age", "newest"] {
            let inserting = Task {
                for batch in 0..<12 {
                    try await publishAll((0..<10).map { command("lead.create", ["leadId": .string("Q-\(sort)-\(batch)-\($0)")]) }, deployment)
                    try await Task.sleep(for: .milliseconds(15))
                }
            }
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let url = "\(base)/acme/dashboard/pending?kind=lead&limit=40&sort=\(sort)" + (cursor.map { "&cursor=\($0)" } ?? "")
                let response = try await http(url, key: keys["acme"])
                #expect(response.status == 200, "\(response.body)")
                let items = response.body["items"]?.arrayValue ?? []
                #expect(items.count <= 40)
                seen += items.compactMap { $0["subject"]?.stringValue }
                cursor = response.body["next"]?.stringValue
                pages += 1
            } while cursor != nil && pages < 100
            try await inserting.value
            #expect(Set(seen).count == seen.count, "\(sort): a record came twice")
            let missed = Set((0..<300).map { "lead:P-\($0)" }).subtracting(seen)
            #expect(missed.isEmpty, "\(sort): \(missed.count) records skipped, e.g. \(missed.sorted().prefix(5))")
        }
        #expect(try await deployment.drained(shard.commands(.pipeline), timeout: .seconds(60)))
        // The whole set in pages of 1,000 (the maximum) for the same answer as one read of all.
        let all = try await http("\(base)/acme/dashboard/pending?limit=1000", key: keys["acme"])
        #expect(all.status == 200 && (all.body["items"]?.arrayValue?.count ?? 0) == 540 && all.body["next"] == nil, "\(all.body["items"]?.arrayValue?.count ?? 0)")
        await client.close()
        await deployment.stopAll()
    }

    // BUS-CRM-0044, REL-CRM-0385: the projection is part of the commit; when it cannot be written the
    // command writes nothing at all (no record, no event), rather than half of it.
    @Test("a dashboard key that cannot be written refuses the whole commit: no record, no event, the command in the DLQ")
    func projectionFailureWritesNothing() async throws {
        let deployment = try await Deployment()
        try await deployment.start("pipeline-service", extra: ["CRM_MAX_DELIVERIES": "2", "CRM_CLAIM_IDLE_MS": "200"])
        let client = CrmClient(endpoint: try RedisEndpoint(url: deployment.server.url), shards: 4)
        #expect(try await client.send(command("definition.publish", [
            "entity": "lead", "name": "Leads", "stages": [["name": "new", "initial": true], ["name": "won", "terminal": "won"]],
            "transitions": [["action": "win", "from": ["new"], "to": "won"]],
        ]), timeout: .seconds(20)).accepted)
        let shard = deployment.shard("acme")
        try await deployment.redis.send("SET", shard.dashboard(tenant: "acme") + "stage:lead:new", "not a sorted set")
        try await publishAll([command("lead.create", ["leadId": "L-9"])], deployment)
        #expect(try await eventually(timeout: .seconds(20)) { try await deployment.redis.xlen(shard.dlq) == 1 }, "parked after its deliveries")
        #expect(try await deployment.redis.send("EXISTS", shard.record(tenant: "acme", entity: "lead", id: "L-9")).integer == 0)
        #expect(try await deployment.redis.send("HLEN", shard.dashboard(tenant: "acme") + "rows").integer == 0)
        #expect(try await deployment.envelopes(shard.events).filter { $0.type == "lead.created" }.isEmpty)
        await client.close()
        await deployment.stopAll()
    }
}
