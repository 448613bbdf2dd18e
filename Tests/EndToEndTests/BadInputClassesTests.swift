import Contracts
import CrmKit
import Foundation
import RedisClient
import Synchronization
import TestSupport
import Testing

/// Every class of bad input through every entry point — the stream (raw XADD), the gateway (HTTP)
/// and crmctl — gets a typed refusal (a DLQ entry with its reason, or `command.rejected` with its
/// code), the services stay up, and a count per class is printed.
@Suite("bad input by class through every entry point", .serialized)
struct BadInputClassesTests {
    struct Case {
        let name: String
        let bytes: [UInt8]
        /// The DLQ reason, or the rejection code.
        let expected: String
        /// Refused before any service decides: parked in the DLQ (not a `command.rejected`), unless the
        /// bytes were a valid envelope whose payload was too large — the service's own `too_large`.
        var parked: Bool { ["malformed_json", "unsupported_version", "unknown_type", "invalid_envelope"].contains(expected) || (expected == "too_large" && bytes.count > 1 << 20) }
    }

    static func envelope(_ type: String, _ payload: JSONValue, version: Int = 1, tenant: String = "acme", id: String = Envelope.newID()) -> [UInt8] {
        Envelope(id: id, type: type, version: version, kind: .command, tenant: tenant, actor: "u-17", payload: payload).encoded()
    }

    static func cases() -> [Case] {
        let valid = String(decoding: envelope("lead.create", ["leadId": "L-x"]), as: UTF8.self)
        let hostile = String(repeating: "(", count: 300) + "data.score > 1" + String(repeating: ")", count: 300)
        return [
            Case(name: "malformed JSON", bytes: Array(#"{"id": "x", "#.utf8), expected: "malformed_json"),
            Case(name: "duplicate keys", bytes: Array(valid.replacingOccurrences(of: #""tenant":"acme""#, with: #""tenant":"acme","tenant":"globex""#).utf8), expected: "malformed_json"),
            Case(name: "huge number", bytes: Array(valid.replacingOccurrences(of: #""version":1"#, with: #""version":1e400"#).utf8), expected: "malformed_json"),
            Case(name: "lone surrogate", bytes: Array(valid.replacingOccurrences(of: #""L-x""#, with: #""\ud800""#).utf8), expected: "malformed_json"),
            Case(name: "deep nesting", bytes: Array(valid.replacingOccurrences(of: #"{"leadId":"L-x"}"#, with: String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)).utf8),
                 expected: "malformed_json"),
            Case(name: "oversized envelope", bytes: Array(repeating: UInt8(ascii: " "), count: (1 << 20) + 1), expected: "too_large"),
            Case(name: "unknown type", bytes: envelope("lead.teleport", ["leadId": "L-x"]), expected: "unknown_type"),
            Case(name: "unknown version", bytes: envelope("lead.create", ["leadId": "L-x"], version: 99), expected: "unsupported_version"),
            Case(name: "missing field", bytes: envelope("lead.create", ["data": [:]]), expected: "invalid_payload"),
            Case(name: "extra field", bytes: envelope("lead.create", ["leadId": "L-x", "color": "red"]), expected: "invalid_payload"),
            Case(name: "wrong type", bytes: envelope("lead.create", ["leadId": 42]), expected: "invalid_payload"),
            Case(name: "oversized field", bytes: envelope("lead.create", ["leadId": .string(String(repeating: "L", count: 300))]), expected: "invalid_payload"),
            Case(name: "stale version", bytes: envelope("lead.update", ["leadId": "L-1", "data": ["name": "B"], "expectedVersion": 9]), expected: "conflict"),
            Case(name: "cross-tenant id", bytes: envelope("lead.update", ["leadId": "L-1", "data": ["name": "B"]], tenant: "globex"), expected: "not_found"),
            Case(name: "hostile expression", bytes: envelope("definition.publish", ["entity": "lead", "name": "X", "fields": [["name": "score", "type": "number"]],
                                                                                   "stages": [["name": "new", "initial": true], ["name": "b"]],
                                                                                   "transitions": [["action": "go", "from": ["new"], "to": "b", "condition": .string(hostile)]]]),
                 expected: "invalid_definition"),
            Case(name: "oversized upload", bytes: envelope("interaction.log", ["interactionId": "I-big", "kind": "note", "subject": "lead:L-1",
                                                                                  "attachments": [["name": "big.txt", "contentType": "text/plain",
                                                                                                   "contentBase64": .string(Data(count: 600_000).base64EncodedString())]]]),
                 expected: "too_large"),
        ]
    }

    // SEC-CRM-0449, REL-CRM-0391: each class refused with its reason at every entry point; nothing else lost.
    @Test("each class, through the stream, the gateway and crmctl: a typed refusal, the services up, counts printed")
    func everyClassEveryEntryPoint() async throws {
        let deployment = try await Deployment()
        let pipeline = try await deployment.start("pipeline-service")
        try await deployment.start("assignment-service")
        let gateway = try await deployment.start("gateway", extra: ["CRM_HTTP_PORT": "0"])
        let port = try #require(gateway.log.split(separator: " ").first { $0.hasPrefix("http.port=") }?.dropFirst("http.port=".count))
        let client = CrmClient(endpoint: try RedisEndpoint(url: deployment.server.url), shards: 4)
        for (type, payload) in [("directory.put_user", ["userId": "u-17", "roles": ["admin"]] as JSONValue),
                                ("definition.publish", ["entity": "lead", "name": "L", "stages": [["name": "new", "initial": true]]]),
                                ("lead.create", ["leadId": "L-1", "data": ["name": "A"]])] {
            #expect(try await client.send(Envelope(type: type, kind: .command, tenant: "acme", actor: "u-17", payload: payload)).accepted)
        }
        let key = try await deployment.crmctl(["apikey", "create", "--tenant", "acme", "--actor", "u-17", "--user", "u-17"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let shard = deployment.shard("acme")
        var summary: [String] = []
        for item in Self.cases() {
            var seen: [String] = []
            // 1. The stream: a raw XADD.
            let before = try await deployment.redis.xlen(shard.dlq)
            _ = try await deployment.redis.xadd(shard.commands(.pipeline), fields: [("envelope", item.bytes)])
            if item.parked {
                let parked = try await eventually { try await deployment.redis.xlen(shard.dlq) > before }
                let reason = try await deployment.redis.xrange(shard.dlq).last?.string("reason")
                #expect(parked && reason == item.expected, "\(item.name) via the stream: \(reason ?? "none")")
                seen.append("stream→dlq:\(reason ?? "-")")
            } else {
                let id = try #require((try? JSONValue.parse(item.bytes))?["id"]?.stringValue)
                let outcome = try await client.awaitOutcome(commandID: id, tenant: (try? JSONValue.parse(item.bytes))?["tenant"]?.stringValue ?? "acme", timeout: .seconds(10))
                #expect(outcome?.rejectionCode == item.expected, "\(item.name) via the stream: \(outcome?.outcome.payload ?? .null)")
                seen.append("stream→\(outcome?.rejectionCode ?? "-")")
            }
            // 2. The gateway: POST /v1/commands (another command id, so no replay of the stream's).
            let body = Self.withNewID(item.bytes)
            let http = try await ServiceProcess.runTool("/usr/bin/curl", arguments: ["-s", "-o", "/dev/stdout", "-w", "\n%{http_code}", "-X", "POST",
                                                                                        "-H", "authorization: Bearer \(key)", "--data-binary", "@-",
                                                                                        "http://127.0.0.1:\(port)/v1/commands"], input: Data(body))
            let status = Int(http.output.split(separator: "\n").last ?? "") ?? 0
            // The gateway refuses what cannot be published itself (400, 413); a key of tenant acme
            // sending another tenant's command is 403; the rest are the service's rejections, by
            // their code: 409 conflict, 413 too_large, 422 any other rule.
            let refusal = ["conflict": 409, "too_large": 413][item.expected] ?? 422
            #expect(item.parked ? [400, 413].contains(status) : (status == refusal || (item.expected == "not_found" && status == 403)),
                    "\(item.name) via the gateway: \(status) \(http.output.prefix(200))")
            seen.append("gateway→\(status)")
            // 3. crmctl publish.
            let published = try await deployment.crmctl(["publish", "-"], input: Data(Self.withNewID(item.bytes)))
            #expect(published.status == (item.parked ? 2 : 1), "\(item.name) via crmctl: \(published.status) \(published.output.prefix(200))")
            seen.append("crmctl→exit \(published.status)")
            summary.append("\(item.name): \(seen.joined(separator: ", "))")
        }
        print("bad input by class (\(summary.count) classes × 3 entry points):\n  " + summary.joined(separator: "\n  "))
        #expect(pipeline.isRunning && gateway.isRunning, "no bad input stopped a service")
        #expect(try await client.send(Envelope(type: "lead.create", kind: .command, tenant: "acme", actor: "u-17", payload: ["leadId": "L-after"])).accepted)
        await client.close()
        await deployment.stopAll()
    }

    /// The same bytes with a fresh envelope id where there is one (a replay would answer from the first outcome).
    static func withNewID(_ bytes: [UInt8]) -> [UInt8] {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let range = text.range(of: #""id":"[^"]*""#, options: .regularExpression) else { return bytes }
        return Array(text.replacingCharacters(in: range, with: #""id":"\#(Envelope.newID())""#).utf8)
    }
}
