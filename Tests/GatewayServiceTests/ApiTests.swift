import Contracts
import CrmKit
import CrmRedis
import Foundation
@testable import GatewayService
import HTTPTypes
import HummingbirdTesting
import RedisClient
import TestSupport
import Testing

@Suite("gateway API under Hummingbird's test client, against the real services", .serialized)
struct ApiTests {
    // SEC-CRM-0437, FUN-CRM-0255: each typed write's success and refusals, reads, tenancy and auth.
    @Test("leads and opportunities: create, read, update (409 on a stale version), apply; refusals carry code and field")
    func records() async throws {
        let fixture = try await GatewayFixture()
        try await fixture.test { client in
            let key = fixture.acmeKey
            let created = try await client.call(.post, "/v1/tenants/acme/leads", key: key, json: ["leadId": "L-1", "data": ["name": "Ada", "score": 72]])
            #expect(created.status == .ok && created.json["type"] == "command.accepted", "\(created.text)")
            let generated = try await client.call(.post, "/v1/tenants/acme/leads", key: key, json: ["data": ["name": "No id"]])
            #expect(generated.status == .ok && generated.json["payload"]?["recordId"]?.stringValue?.hasPrefix("L-") == true, "\(generated.text)")
            let unknown = try await client.call(.post, "/v1/tenants/acme/leads", key: key, json: ["leadId": "L-3", "data": ["name": "Ada"], "definitionVersion": 9])
            #expect(unknown.status == .unprocessableContent && unknown.errorCode == "unknown_definition", "\(unknown.text)")
            let badValue = try await client.call(.post, "/v1/tenants/acme/leads", key: key, json: ["leadId": "L-2", "data": ["name": "Bo", "score": 500]])
            #expect(badValue.status == .unprocessableContent && badValue.errorCode == "invalid_payload" && badValue.errorField == "payload.data.score", "\(badValue.text)")
            let notObject = try await client.call(.post, "/v1/tenants/acme/leads", key: key, body: Array("[1]".utf8))
            #expect(notObject.status == .badRequest && notObject.errorCode == "malformed_json")

            let read = try await client.call(.get, "/v1/tenants/acme/leads/L-1", key: key)
            #expect(read.status == .ok && read.json["stage"] == "new" && read.json["version"] == 1, "\(read.text)")
            #expect(try await client.call(.get, "/v1/tenants/acme/leads/L-404", key: key).status == .notFound)

            let updated = try await client.call(.patch, "/v1/tenants/acme/leads/L-1", key: key, json: ["data": ["score": 80], "expectedVersion": 1])
            #expect(updated.status == .ok, "\(updated.text)")
            let stale = try await client.call(.patch, "/v1/tenants/acme/leads/L-1", key: key, json: ["data": ["score": 81], "expectedVersion": 1])
            #expect(stale.status == .conflict && stale.errorCode == "conflict" && stale.errorField == "payload.expectedVersion", "\(stale.text)")
            let otherID = try await client.call(.patch, "/v1/tenants/acme/leads/L-1", key: key, json: ["leadId": "L-9", "data": [:]])
            #expect(otherID.status == .badRequest && otherID.errorField == "leadId")
            let missing = try await client.call(.patch, "/v1/tenants/acme/leads/L-404", key: key, json: ["data": ["score": 1]])
            #expect(missing.status == .notFound && missing.errorCode == "not_found", "\(missing.text)")

            let applied = try await client.call(.post, "/v1/tenants/acme/leads/L-1/actions", key: key, json: ["action": "qualify", "expectedVersion": 2])
            #expect(applied.status == .ok, "\(applied.text)")
            #expect(try await client.call(.get, "/v1/tenants/acme/leads/L-1", key: key).json["stage"] == "qualified")
            let wrongAction = try await client.call(.post, "/v1/tenants/acme/leads/L-1/actions", key: key, json: ["action": "contact"])
            #expect(wrongAction.status == .unprocessableContent && wrongAction.errorCode == "invalid_transition", "\(wrongAction.text)")

            let deal = try await client.call(.post, "/v1/tenants/acme/opportunities", key: key, json: ["opportunityId": "O-1", "data": ["title": "Licence", "amount": 500, "currency": "GBP"]])
            #expect(deal.status == .ok, "\(deal.text)")
            #expect(try await client.call(.patch, "/v1/tenants/acme/opportunities/O-1", key: key, json: ["data": ["amount": 2000], "expectedVersion": 1]).status == .ok)
            #expect(try await client.call(.post, "/v1/tenants/acme/opportunities/O-1/actions", key: key, json: ["action": "propose"]).status == .ok)
            #expect(try await client.call(.get, "/v1/tenants/acme/opportunities/O-1", key: key).json["stage"] == "proposal")
            #expect(try await client.call(.patch, "/v1/tenants/acme/opportunities/O-1", key: key, json: ["data": ["amount": 1], "expectedVersion": 1]).status == .conflict)

            // The record's history, with the refused attempts.
            // The history is audit-service's, written a moment after the outcome.
            #expect(try await eventually {
                let history = try await client.call(.get, "/v1/tenants/acme/lead/L-1/history", key: key)
                let types = history.json.arrayValue?.compactMap { $0["type"]?.stringValue } ?? []
                return types.contains("lead.created") && types.contains("lead.stage_changed") && types.contains("command.rejected")
            })
        }
        await fixture.stop()
    }

    @Test("contacts, interactions with files (413 over the limit), approvals, delegations and custom fields")
    func otherWrites() async throws {
        let fixture = try await GatewayFixture()
        try await fixture.test(GatewaySettings(maxUploadBytes: 64 * 1024)) { client in
            let key = fixture.acmeKey
            let contact = try await client.call(.post, "/v1/tenants/acme/contacts", key: key, json: ["contactId": "C-1", "data": ["name": "Charles", "email": "c@example.com"]])
            #expect(contact.status == .ok, "\(contact.text)")
            #expect(try await client.call(.get, "/v1/tenants/acme/contacts/C-1", key: key).json["data"]?["name"] == "Charles")
            #expect(try await client.call(.patch, "/v1/tenants/acme/contacts/C-1", key: key, json: ["data": ["phone": "+44 20 7946 0000"], "expectedVersion": 1]).status == .ok)
            #expect(try await client.call(.patch, "/v1/tenants/acme/contacts/C-1", key: key, json: ["data": ["phone": "+44 20 7946 0001"], "expectedVersion": 1]).status == .conflict)
            #expect(try await client.call(.get, "/v1/tenants/acme/contacts/C-404", key: key).status == .notFound)

            #expect(try await client.call(.post, "/v1/tenants/acme/leads", key: key, json: ["leadId": "L-7", "data": ["name": "Grace"]]).status == .ok)
            // USE-CRM-0558: a multipart upload; its file reads back by checksum.
            let boundary = "XyZ-boundary"
            func multipart(_ fileBytes: [UInt8]) -> [UInt8] {
                var body: [UInt8] = []
                for (name, value) in [("kind", "call"), ("subject", "lead:L-7"), ("notes", "Called; sent the brochure.")] {
                    body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n".utf8)
                }
                body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"files\"; filename=\"notes.txt\"\r\nContent-Type: text/plain\r\n\r\n".utf8)
                body += fileBytes + Array("\r\n--\(boundary)--\r\n".utf8)
                return body
            }
            let form: HTTPFields = [.contentType: "multipart/form-data; boundary=\(boundary)"]
            let logged = try await client.call(.post, "/v1/tenants/acme/interactions", key: key, body: multipart(Array("Budget: 30k\n".utf8)), headers: form)
            #expect(logged.status == .ok, "\(logged.text)")
            let sha = Checksum.sha256(Array("Budget: 30k\n".utf8))
            let file = try await client.call(.get, "/v1/tenants/acme/attachments/\(sha)", key: key)
            #expect(file.status == .ok && file.text == "Budget: 30k\n")
            let oversized = try await client.call(.post, "/v1/tenants/acme/interactions", key: key, body: multipart([UInt8](repeating: 65, count: 70 * 1024)), headers: form)
            #expect(oversized.status == .contentTooLarge && oversized.errorCode == "too_large" && oversized.errorField == "attachments", "\(oversized.text)")
            let broken = try await client.call(.post, "/v1/tenants/acme/interactions", key: key, body: Array("--\(boundary)\r\nno headers".utf8), headers: form)
            #expect(broken.status == .badRequest && broken.errorCode == "malformed_multipart")
            let noSubject = try await client.call(.post, "/v1/tenants/acme/interactions", key: key, json: ["kind": "call", "subject": "lead:L-404", "notes": "?"])
            #expect(noSubject.status == .notFound || noSubject.status == .unprocessableContent, "\(noSubject.text)")

            // Approvals: u-17 asks, u-30 votes; a vote on no approval is not found; a non-approver is refused.
            #expect(try await client.call(.post, "/v1/tenants/acme/opportunities", key: key, json: ["opportunityId": "O-5", "data": ["title": "Deal", "amount": 5000, "currency": "GBP"]]).status == .ok)
            try await fixture.command("acme", "u-17", "approval.request", ["approvalId": "AP-1", "subject": "opportunity:O-5", "action": "negotiate", "approvers": ["u-30"], "strategy": "first_response"])
            let notApprover = try await client.call(.post, "/v1/tenants/acme/approvals/AP-1/votes", key: key, json: ["vote": "approve"])
            #expect(notApprover.status == .forbidden, "\(notApprover.text)")
            let vote = try await client.call(.post, "/v1/tenants/acme/approvals/AP-1/votes", key: fixture.salesKey, json: ["vote": "approve", "comment": "fine"])
            #expect(vote.status == .ok, "\(vote.text)")
            #expect(try await client.call(.post, "/v1/tenants/acme/approvals/AP-404/votes", key: fixture.salesKey, json: ["vote": "approve"]).status == .notFound)

            // Delegations.
            let delegation: JSONValue = ["delegator": "u-17", "delegatee": "u-30", "from": "2026-12-01T09:00:00Z", "until": "2026-12-08T18:00:00Z", "scope": ["lead"]]
            let set = try await client.call(.put, "/v1/tenants/acme/delegations/D-1", key: key, json: delegation)
            #expect(set.status == .ok, "\(set.text)")
            let backwards = try await client.call(.put, "/v1/tenants/acme/delegations/D-2", key: key,
                                                  json: ["delegator": "u-17", "delegatee": "u-30", "from": "2026-12-08T09:00:00Z", "until": "2026-12-01T18:00:00Z"])
            #expect(backwards.status == .unprocessableContent && backwards.errorCode == "invalid_payload" && backwards.errorField == "payload.until", "\(backwards.text)")
            #expect(try await client.call(.delete, "/v1/tenants/acme/delegations/D-1", key: key).status == .ok)
            #expect(try await client.call(.delete, "/v1/tenants/acme/delegations/D-404", key: key).status == .notFound)

            // FUN-CRM-0289: custom fields take effect on the next write; only admins configure them.
            let added = try await client.call(.post, "/v1/tenants/acme/fields/lead", key: key, json: ["add": [["name": "employees", "type": "number", "min": 0]]])
            #expect(added.status == .ok, "\(added.text)")
            let fields = try await client.call(.get, "/v1/tenants/acme/fields/lead", key: key)
            #expect(fields.json["customFields"]?.arrayValue?.first?["name"] == "employees" && fields.json["definitionFields"]?.arrayValue?.count == 4, "\(fields.text)")
            let breaks = try await client.call(.post, "/v1/tenants/acme/leads", key: key, json: ["data": ["name": "Neg", "employees": -3]])
            #expect(breaks.status == .unprocessableContent && breaks.errorField == "payload.data.employees", "\(breaks.text)")
            #expect(try await client.call(.post, "/v1/tenants/acme/fields/lead", key: fixture.salesKey, json: ["remove": ["employees"]]).status == .forbidden)
            #expect(try await client.call(.post, "/v1/tenants/acme/fields/lead", key: key, json: ["remove": ["employees"]]).status == .ok)
            #expect(try await client.call(.get, "/v1/tenants/acme/fields/lead", key: key).json["retired"] == ["employees"])
            #expect(try await client.call(.post, "/v1/tenants/acme/fields/contact", key: key, json: ["remove": ["x"]]).status == .badRequest)
        }
        await fixture.stop()
    }

    @Test("auth failures are 401, another tenant is 404 or 403, a key over its rate is 429 with Retry-After")
    func authenticationTenancyAndRateLimits() async throws {
        let fixture = try await GatewayFixture()
        try await fixture.test(GatewaySettings(rateLimitPerMinute: 1, rateLimitBurst: 3)) { client in
            let noKey = try await client.call(.get, "/v1/tenants/acme/leads/L-1", key: nil)
            #expect(noKey.status == .unauthorized && noKey.headers[.wwwAuthenticate] == "Bearer" && noKey.errorCode == "unauthorized")
            #expect(try await client.call(.get, "/v1/tenants/acme/leads/L-1", key: "crm.acme.\(String(repeating: "z", count: 43))").status == .unauthorized)
            #expect(try await client.call(.post, "/v1/tenants/acme/leads", key: "nonsense", json: ["data": [:]]).status == .unauthorized)
            // Another tenant's key: its records are not found, writes to it neither; an envelope for it is forbidden.
            let globex = fixture.globexKey
            #expect(try await client.call(.post, "/v1/tenants/acme/leads", key: globex, json: ["leadId": "L-x", "data": ["name": "x"]]).status == .notFound)
            #expect(try await client.call(.get, "/v1/tenants/acme/fields/lead", key: globex).status == .notFound)
            let foreign = Envelope(type: "lead.create", kind: .command, tenant: "acme", actor: "u-9", payload: ["leadId": "L-x", "data": ["name": "x"]])
            let refused = try await client.call(.post, "/v1/commands", key: globex, body: foreign.encoded())
            #expect(refused.status == .forbidden && refused.errorCode == "wrong_tenant" && refused.errorField == "tenant")
            // That was globex's third request: the fourth within the minute is over its burst.
            let limited = try await client.call(.get, "/v1/tenants/globex/leads/L-1", key: globex)
            #expect(limited.status == .tooManyRequests && limited.errorCode == "rate_limited", "\(limited.text)")
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            // Limits are per key: acme's key still works.
            #expect(try await client.call(.get, "/v1/tenants/acme/leads/L-1", key: fixture.acmeKey).status == .notFound)
        }
        await fixture.stop()
    }

    @Test("a write whose outcome does not come in time is 202 with its command id; /healthz reports each group's lag")
    func pendingAndHealth() async throws {
        let fixture = try await GatewayFixture()
        try await fixture.test(GatewaySettings(outcomeWaitMilliseconds: 300, maxHealthyLag: 0)) { client in
            // No sla-timer-service runs here: a timer command stays on its stream.
            let timer = Envelope(type: "timer.schedule", kind: .command, tenant: "acme", actor: "u-17",
                                 payload: ["timerId": "T-1", "after": "PT4H", "data": ["leadId": "L-1"]])
            let pending = try await client.call(.post, "/v1/commands", key: fixture.acmeKey, body: timer.encoded())
            #expect(pending.status == .accepted && pending.json["commandId"]?.stringValue == timer.id && pending.json["status"] == "pending", "\(pending.text)")

            #expect(try await eventually { try await client.call(.get, "/healthz", key: nil).status == .ok })
            let healthy = try await client.call(.get, "/healthz", key: nil)
            let groups = healthy.json["groups"]?.arrayValue ?? []
            #expect(healthy.status == .ok && healthy.json["redis"] == "ok", "\(healthy.text)")
            #expect(groups.contains { $0["stream"] == "cmd:pipeline" && $0["lag"] == 0 }, "\(healthy.text)")
            // A group that falls behind makes the gateway report it, and answer 503.
            let shard = fixture.client.router.keys(forTenant: "acme")
            _ = try await fixture.client.pool.send("XGROUP", "CREATE", shard.commands(.sla), "sla", "0", "MKSTREAM")
            let lagging = try await client.call(.get, "/healthz", key: nil)
            #expect(lagging.status == .serviceUnavailable && lagging.json["status"] == "lagging", "\(lagging.text)")
            #expect(lagging.json["behind"]?.arrayValue?.contains("cmd:sla/sla") == true, "\(lagging.text)")
        }
        await fixture.stop()
    }
}
