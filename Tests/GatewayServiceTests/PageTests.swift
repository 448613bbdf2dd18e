import Contracts
import CrmRedis
import Foundation
@testable import GatewayService
import HTTPTypes
import HummingbirdTesting
import RedisClient
import TestSupport
import Testing

@Suite("gateway pages: session cookie, CSRF, forms that publish commands", .serialized)
struct PageTests {
    /// The session cookie and CSRF token a login gives.
    func login(_ client: some TestClientProtocol, key: String) async throws -> (cookie: String, csrf: String) {
        let response = try await client.call(.post, "/login", key: nil, body: Array("key=\(key)".utf8),
                                             headers: [.contentType: "application/x-www-form-urlencoded"])
        #expect(response.status == .seeOther && response.headers[.location] == "/")
        let setCookie = try #require(response.headers[.setCookie])
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"), "\(setCookie)")
        let cookie = String(setCookie.split(separator: ";")[0])
        let page = try await client.call(.get, "/", key: nil, headers: [.cookie: cookie])
        let csrf = try #require(page.text.firstMatch(of: /name="_csrf" value="([0-9a-f]{64})"/)?.output.1)
        return (cookie, String(csrf))
    }

    func formHeaders(cookie: String, origin: String? = nil) -> HTTPFields {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .cookie: cookie]
        if let origin { headers[.origin] = origin }
        return headers
    }

    func encode(_ fields: [(String, String)]) -> [UInt8] {
        Array(fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&").utf8)
    }

    @Test("no session goes to /login; a bad key is refused; a form without the CSRF token or from another origin is 403")
    func sessionsAndCsrf() async throws {
        let fixture = try await GatewayFixture()
        try await fixture.test { client in
            let anonymous = try await client.call(.get, "/", key: nil)
            #expect(anonymous.status == .seeOther && anonymous.headers[.location] == "/login")
            #expect(try await client.call(.get, "/login", key: nil).text.contains("<label for=\"key\">API key</label>"))
            let wrong = try await client.call(.post, "/login", key: nil, body: Array("key=crm.acme.nope".utf8), headers: [.contentType: "application/x-www-form-urlencoded"])
            #expect(wrong.status == .unauthorized && wrong.headers[.setCookie] == nil && wrong.text.contains("role=\"alert\""))
            // The cookie of another tenant's key never shows acme's records.
            let (cookie, csrf) = try await login(client, key: fixture.acmeKey)
            let fields = [("entity", "lead"), ("name", "employees"), ("type", "number"), ("min", "0")]
            let noToken = try await client.call(.post, "/admin/fields", key: nil, body: encode(fields), headers: formHeaders(cookie: cookie))
            #expect(noToken.status == .forbidden)
            let wrongToken = try await client.call(.post, "/admin/fields", key: nil, body: encode(fields + [("_csrf", String(repeating: "0", count: 64))]), headers: formHeaders(cookie: cookie))
            #expect(wrongToken.status == .forbidden)
            let elsewhere = try await client.call(.post, "/admin/fields", key: nil, body: encode(fields + [("_csrf", csrf)]), headers: formHeaders(cookie: cookie, origin: "https://evil.example"))
            #expect(elsewhere.status == .forbidden)
            // Nothing was configured by the refused posts.
            #expect(try await client.call(.get, "/v1/tenants/acme/fields/lead", key: fixture.acmeKey).json["customFields"] == [])
            let saved = try await client.call(.post, "/admin/fields", key: nil, body: encode(fields + [("_csrf", csrf)]), headers: formHeaders(cookie: cookie))
            #expect(saved.status == .seeOther && saved.headers[.location] == "/admin/fields?done=saved", "\(saved.text)")
            #expect(try await client.call(.get, "/v1/tenants/acme/fields/lead", key: fixture.acmeKey).json["customFields"]?.arrayValue?.first?["min"] == 0)
            // Edit: the form comes filled in; saving the same name with a new rule redefines the field.
            let edit = try await client.call(.get, "/admin/fields?entity=lead&edit=employees", key: nil, headers: [.cookie: cookie])
            #expect(edit.text.contains("Edit a field") && edit.text.contains("id=\"fd-name\" name=\"name\" value=\"employees\""), "\(edit.text)")
            let stricter = [("_csrf", csrf), ("entity", "lead"), ("name", "employees"), ("type", "number"), ("min", "1"), ("required", "true")]
            #expect(try await client.call(.post, "/admin/fields", key: nil, body: encode(stricter), headers: formHeaders(cookie: cookie)).status == .seeOther)
            let redefined = try await client.call(.get, "/v1/tenants/acme/fields/lead", key: fixture.acmeKey).json["customFields"]?.arrayValue?.first
            #expect(redefined?["min"] == 1 && redefined?["required"] == true, "\(String(describing: redefined))")
            let badBound = [("_csrf", csrf), ("entity", "lead"), ("name", "size"), ("type", "number"), ("min", "lots")]
            let unread = try await client.call(.post, "/admin/fields", key: nil, body: encode(badBound), headers: formHeaders(cookie: cookie))
            #expect(unread.status == .badRequest && unread.text.contains("(field <code>min</code>)"), "\(unread.text)")
            // Retire: no new writes, listed as retired.
            let retire = [("_csrf", csrf), ("entity", "lead"), ("name", "employees")]
            let retired = try await client.call(.post, "/admin/fields/retire", key: nil, body: encode(retire), headers: formHeaders(cookie: cookie))
            #expect(retired.status == .seeOther && retired.headers[.location] == "/admin/fields?done=retired")
            #expect(try await client.call(.get, "/v1/tenants/acme/fields/lead", key: fixture.acmeKey).json["retired"] == ["employees"])
            let again = try await client.call(.post, "/admin/fields/retire", key: nil, body: encode(retire), headers: formHeaders(cookie: cookie))
            #expect(again.status == .notFound && again.text.contains("not_found"), "retiring a retired field: \(again.status)")
            // A non-admin's save is refused by the service, and the page says why.
            let (salesCookie, salesCsrf) = try await login(client, key: fixture.salesKey)
            let refused = try await client.call(.post, "/admin/fields", key: nil, body: encode(fields + [("_csrf", salesCsrf)]), headers: formHeaders(cookie: salesCookie))
            #expect(refused.status == .forbidden && refused.text.contains("forbidden"), "\(refused.text)")
            // Logging out clears the cookie.
            let out = try await client.call(.post, "/logout", key: nil, body: encode([("_csrf", csrf)]), headers: formHeaders(cookie: cookie))
            #expect(out.status == .seeOther && out.headers[.setCookie]?.contains("Max-Age=0") == true)
        }
        await fixture.stop()
    }

    @Test("the create form and the record page publish commands; a refusal shows its code, field and rule; a stale version is 409")
    func formsPublishCommands() async throws {
        let fixture = try await GatewayFixture()
        try await fixture.test { client in
            let (cookie, csrf) = try await login(client, key: fixture.acmeKey)
            #expect(try await client.call(.get, "/new/lead", key: nil, headers: [.cookie: cookie]).text.contains("id=\"field-score\""))
            let bad = [("_csrf", csrf), ("_id", "L-50"), ("f.name", "Ada"), ("f.score", "500")]
            let refused = try await client.call(.post, "/new/lead", key: nil, body: encode(bad), headers: formHeaders(cookie: cookie))
            #expect(refused.status == .unprocessableContent && refused.text.contains("payload.data.score") && refused.text.contains("aria-invalid=\"true\""), "\(refused.text)")
            let good = [("_csrf", csrf), ("_id", "L-50"), ("f.name", "Ada"), ("f.score", "70")]
            let created = try await client.call(.post, "/new/lead", key: nil, body: encode(good), headers: formHeaders(cookie: cookie))
            #expect(created.status == .seeOther && created.headers[.location] == "/records/lead/L-50?done=created")
            let record = try await client.call(.get, "/records/lead/L-50", key: nil, headers: [.cookie: cookie])
            #expect(record.text.contains("id=\"stage\">new<") && record.text.contains("qualify → qualified"), "\(record.text)")
            #expect(record.text.contains("<strong>lead.created</strong> by u-17</li>"), "an entry without a summary has no dangling colon")
            let apply = [("_csrf", csrf), ("action", "qualify"), ("expectedVersion", "1")]
            #expect(try await client.call(.post, "/records/lead/L-50/apply", key: nil, body: encode(apply), headers: formHeaders(cookie: cookie)).status == .seeOther)
            #expect(try await client.call(.get, "/v1/tenants/acme/leads/L-50", key: fixture.acmeKey).json["stage"] == "qualified")
            // The same form again carries a version that is no longer current.
            let stale = [("_csrf", csrf), ("action", "close_won"), ("expectedVersion", "1")]
            let conflict = try await client.call(.post, "/records/lead/L-50/apply", key: nil, body: encode(stale), headers: formHeaders(cookie: cookie))
            #expect(conflict.status == .conflict && conflict.text.contains("conflict"), "\(conflict.text)")
            #expect(try await client.call(.get, "/records/lead/L-404", key: nil, headers: [.cookie: cookie]).status == .notFound)
            // Logging an interaction with a file from the record page (multipart, with the CSRF token as a part).
            let boundary = "page-boundary"
            var upload: [UInt8] = []
            for (name, value) in [("_csrf", csrf), ("kind", "meeting"), ("notes", "Met at the fair.")] {
                upload += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
            }
            upload += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"card.txt\"\r\nContent-Type: text/plain\r\n\r\nAda, Analytical Engines\r\n--\(boundary)--\r\n".utf8)
            let logged = try await client.call(.post, "/records/lead/L-50/interactions", key: nil, body: upload,
                                               headers: [.cookie: cookie, .contentType: "multipart/form-data; boundary=\(boundary)"])
            #expect(logged.status == .seeOther && logged.headers[.location] == "/records/lead/L-50?done=logged", "\(logged.text)")
            // The page reads interactions from the audit history, which audit-service writes a moment later.
            let sha = Checksum.sha256(Array("Ada, Analytical Engines".utf8))
            #expect(try await eventually {
                let page = try await client.call(.get, "/records/lead/L-50", key: nil, headers: [.cookie: cookie]).text
                return page.contains("/attachments/\(sha)") && page.contains("Met at the fair.")
            })
            #expect(try await client.call(.get, "/attachments/\(sha)", key: nil, headers: [.cookie: cookie]).text == "Ada, Analytical Engines")
            // The dashboard's panel lists what is assigned to the user.
            try await fixture.command("acme", "u-17", "assignment.request", ["subject": "lead:L-50", "strategy": "manual", "assignee": "u-30"])
            let (salesCookie, _) = try await login(client, key: fixture.salesKey)
            let panel = try await client.call(.get, "/dashboard/panel", key: nil, headers: [.cookie: salesCookie])
            #expect(panel.status == .ok && panel.text.contains("/records/lead/L-50") && panel.text.contains("qualified"), "\(panel.text)")
            #expect(try await client.call(.get, "/assets/app.js", key: nil).text.contains("data-refresh"))
        }
        await fixture.stop()
    }

    @Test("the dashboard reads the projection: my records, my team, the whole tenant, a stage; names, a breached SLA, pending approvals and the funnel (USE-CRM-0557, FUN-CRM-0281)")
    func dashboardViews() async throws {
        let fixture = try await GatewayFixture(extraServices: ["sla-timer-service"])
        try await fixture.command("acme", "u-17", "directory.put_user", ["userId": "u-40", "roles": ["sales"], "teams": ["north"]])
        // The example lead pipeline again, with a one-second SLA on the stage "qualified".
        let example = try Data(contentsOf: ServiceProcess.packageRoot.appendingPathComponent("contracts/v1/examples/01-definition.publish.json"))
        var definition = try #require(try EnvelopeReader().read(Array(example)).payload.objectValue)
        definition["sla"] = [["stage": "qualified", "name": "follow_up", "within": "PT1S", "warnAt": 0.5]]
        try await fixture.command("acme", "u-17", "definition.publish", .object(definition))
        try await fixture.command("acme", "u-17", "directory.configure", ["allowSelfAssignment": true])
        let leads: [(id: String, name: String, owner: String?)] = [("L-61", "Ada Lovelace", "u-30"), ("L-62", "Charles Babbage", "u-17"),
                                                                    ("L-63", "Mary Somerville", "u-40"), ("L-64", "Unassigned Ltd", nil)]
        for lead in leads {
            try await fixture.command("acme", "u-17", "lead.create", ["leadId": .string(lead.id), "data": ["name": .string(lead.name), "score": 80]])
            if let owner = lead.owner {
                try await fixture.command("acme", "u-17", "assignment.request", ["subject": .string("lead:\(lead.id)"), "strategy": "manual", "assignee": .string(owner)])
            }
        }
        try await fixture.command("acme", "u-17", "lead.apply", ["leadId": "L-62", "action": "qualify", "expectedVersion": 1])
        try await fixture.command("acme", "u-30", "approval.request", ["approvalId": "AP-61", "subject": "lead:L-61", "action": "qualify",
                                                                       "approvers": ["u-17"], "strategy": "first_response"])
        try await fixture.test { client in
            let (cookie, _) = try await login(client, key: fixture.salesKey)
            func page(_ query: String) async throws -> Exchange { try await client.call(.get, "/\(query)", key: nil, headers: [.cookie: cookie]) }
            func listed(_ text: String) -> [String] {
                guard let table = text.firstMatch(of: /<table id="pending">(?s:.*?)<\/table>/)?.output else { return [] }
                return table.matches(of: /href="\/records\/lead\/(L-\d+)"/).map { String($0.output.1) }.sorted()
            }
            // My records (the default): only u-30's lead, with its name, and its pending approval with the action.
            let mine = try await page("")
            #expect(mine.status == .ok && listed(mine.text) == ["L-61"], "\(listed(mine.text))")
            #expect(mine.text.contains("<td>Ada Lovelace</td>") && mine.text.contains("<option value=\"mine\" selected>My records</option>"), "\(mine.text)")
            let approvals = try #require(mine.text.firstMatch(of: /<section aria-labelledby="approvals-heading" id="approvals">(?s:.*?)<\/section>/)?.output)
            #expect(approvals.contains("Pending approvals (1)") && approvals.contains("lead L-61") && approvals.contains("<strong>qualify</strong>"), "\(approvals)")
            // My team (u-30 and u-17 are in team sales; u-40 is in north; L-64 has no owner).
            let team = try await page("?scope=team")
            #expect(listed(team.text) == ["L-61", "L-62"], "\(listed(team.text))")
            #expect(team.text.contains("<option value=\"team:sales\" selected>Team sales</option>"))
            #expect(team.text.contains("data-refresh=\"/dashboard/panel?scope=team:sales\""), "the panel refreshes the same view")
            // The whole tenant, then only its qualified leads.
            #expect(listed(try await page("?scope=tenant").text) == ["L-61", "L-62", "L-63", "L-64"])
            let qualified = try await page("?scope=tenant&stage=lead:qualified")
            #expect(listed(qualified.text) == ["L-62"] && qualified.text.contains("<option value=\"lead:qualified\" selected>lead: qualified</option>"), "\(listed(qualified.text))")
            let panel = try await page("dashboard/panel?scope=team:north")
            #expect(listed(panel.text) == ["L-63"] && panel.text.contains("Mary Somerville"), "\(panel.text)")
            // The qualified lead's one-second SLA breaches (sla-timer-service): the team's breached panel lists it, u-30's does not.
            func breached(_ query: String) async throws -> String {
                try await page(query).text.firstMatch(of: /<section aria-labelledby="breached-heading" id="breached">(?s:.*?)<\/section>/).map { String($0.output) } ?? ""
            }
            #expect(try await eventually(timeout: .seconds(15)) { try await breached("?scope=team").contains("SLAs breached (1)") })
            let teamBreached = try await breached("?scope=team")
            #expect(teamBreached.contains("lead L-62") && teamBreached.contains("(Charles Babbage)") && teamBreached.contains("owner u-17"), "\(teamBreached)")
            #expect(try await breached("").contains("SLAs breached (0)"))
            #expect(try await page("?scope=tenant&stage=lead:qualified").text.contains("<span class=\"sla breached\">breached</span>"))
            // The funnel shows the projection's counts, the same as the API's.
            let api = try await client.call(.get, "/v1/tenants/acme/dashboard/funnel", key: fixture.acmeKey).json
            let shown = Dictionary(mine.text.matches(of: /<tr><td>lead<\/td><td>([a-z_]+)<\/td><td>(\d+)<\/td>/).map { (String($0.output.1), Int($0.output.2) ?? -1) },
                                   uniquingKeysWith: { first, _ in first })
            let counted = Dictionary((api["funnel"]?["lead"]?.arrayValue ?? []).map { ($0["stage"]?.stringValue ?? "", { if case .integer(let open)? = $0 { return Int(open) } else { return -1 } }($0["open"])) },
                                     uniquingKeysWith: { first, _ in first })
            #expect(!counted.isEmpty && shown == counted && counted["new"] == 3 && counted["qualified"] == 1, "page \(shown), API \(counted)")
            // Bad view parameters are refused with their code and parameter.
            for (query, code, field) in [("?scope=galaxy", "invalid_parameter", "scope"), ("?stage=lead", "invalid_parameter", "stage"),
                                         ("?stage=ticket:open", "invalid_parameter", "stage"), ("?colour=red", "unknown_parameter", "colour")] {
                let refused = try await page(query)
                #expect(refused.status == .badRequest && refused.text.contains("\(code), parameter \(field)"), "\(query): \(refused.text)")
            }
        }
        await fixture.stop()
    }
}
