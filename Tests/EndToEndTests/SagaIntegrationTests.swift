import Contracts
import CrmKit
import Foundation
import RedisClient
import TestSupport
import Testing

/// A campaign saga across the real binaries: pipeline-service sends each step to integration-service,
/// which calls real webhook receivers; a step that fails for good is compensated, last completed first.
@Suite("saga through the real integration-service and webhook receivers", .serialized)
struct SagaIntegrationTests {
    // FUN-CRM-0241, FUN-CRM-0296: compensation in reverse order, through integration.compensate.
    @Test("steps 1 and 2 succeed, step 3's endpoint answers 400: steps 2 then 1 are compensated at the receiver, the lead is back in its stage")
    func compensatedThroughWebhooks() async throws {
        let deployment = try await Deployment()
        let env = ["CRM_INTEGRATION_MAX_ATTEMPTS": "2", "CRM_INTEGRATION_BACKOFF_MS": "50"]
        for binary in ["pipeline-service", "assignment-service", "integration-service"] { try await deployment.start(binary, extra: env) }
        let good = try await WebhookReceiver(secret: "whsec-good-0123456789")
        let bad = try await WebhookReceiver(secret: "whsec-bad-0123456789", arguments: ["--always", "400"])
        let client = CrmClient(endpoint: try RedisEndpoint(url: deployment.server.url), shards: 4)
        func accepted(_ type: String, _ payload: JSONValue) async throws {
            let result = try await client.send(Envelope(type: type, kind: .command, tenant: "acme", actor: "u-1", payload: payload), timeout: .seconds(20))
            #expect(result.accepted, "\(type): \(result.outcome.payload)")
        }
        try await accepted("directory.put_user", ["userId": "u-1", "roles": ["admin"]])
        try await accepted("integration.configure", ["integration": "good", "kind": "webhook", "url": .string(good.url), "secret": "whsec-good-0123456789"])
        try await accepted("integration.configure", ["integration": "bad", "kind": "webhook", "url": .string(bad.url), "secret": "whsec-bad-0123456789"])
        func step(_ n: Int, _ integration: String) -> JSONValue {
            ["name": .string("s\(n)"), "integration": .string(integration), "input": ["n": .integer(Int64(n))],
             "compensate": ["integration": "good", "input": ["undo": .integer(Int64(n))]]]
        }
        try await accepted("definition.publish", [
            "entity": "lead", "name": "Drip", "stages": [["name": "new", "initial": true], ["name": "campaign"], ["name": "done"], ["name": "won", "terminal": "won"]],
            "transitions": [["action": "start", "from": ["new"], "to": "campaign"], ["action": "win", "from": ["done"], "to": "won"]],
            "gateways": [
                ["name": "drip", "stage": "campaign", "kind": "parallel", "join": "done", "branches": [["name": "mail", "steps": [step(1, "good"), step(2, "good"), step(3, "bad")]]]],
            ],
        ])
        try await accepted("lead.create", ["leadId": "L-1"])
        try await accepted("lead.apply", ["leadId": "L-1", "action": "start"])
        let shard = deployment.shard("acme")
        let restored = try await eventually(timeout: .seconds(40)) {
            try await deployment.redis.send("HGET", shard.record(tenant: "acme", entity: "lead", id: "L-1"), "d").string?.contains("\"stage\":\"new\"") == true
        }
        #expect(restored, "the lead returned to its stage before the campaign")
        let compensations = good.requests(answered: true).filter { $0.operation == "compensate" && $0.status == 200 }
        #expect(compensations.map { $0.body.contains("\"undo\":2") } == [true, false], "\(compensations.map(\.body))")
        #expect(compensations.last?.body.contains("\"undo\":1") == true)
        #expect(compensations.allSatisfy { $0.verified }, "every call signed")
        let badCalls = bad.requests(answered: true).filter { $0.operation != "compensate" }
        #expect(badCalls.count == 1, "a 400 is permanent: no retry")
        let types = try await deployment.envelopes(shard.events).map(\.type)
        #expect(types.contains("saga.compensating") && types.contains("saga.compensated"))
        #expect(types.filter { $0 == "integration.compensated" }.count == 2)
        await client.close()
        await deployment.stopAll()
    }

    @Test("a saga step naming an integration the tenant has not configured fails for good at once, so the saga compensates instead of waiting")
    func unconfiguredIntegration() async throws {
        let deployment = try await Deployment()
        for binary in ["pipeline-service", "assignment-service", "integration-service"] { try await deployment.start(binary) }
        let good = try await WebhookReceiver(secret: "whsec-good-0123456789")
        let client = CrmClient(endpoint: try RedisEndpoint(url: deployment.server.url), shards: 4)
        func accepted(_ type: String, _ payload: JSONValue) async throws {
            let result = try await client.send(Envelope(type: type, kind: .command, tenant: "acme", actor: "u-1", payload: payload), timeout: .seconds(20))
            #expect(result.accepted, "\(type): \(result.outcome.payload)")
        }
        try await accepted("directory.put_user", ["userId": "u-1", "roles": ["admin"]])
        try await accepted("integration.configure", ["integration": "good", "kind": "webhook", "url": .string(good.url), "secret": "whsec-good-0123456789"])
        try await accepted("definition.publish", [
            "entity": "lead", "name": "Drip", "stages": [["name": "new", "initial": true], ["name": "campaign"], ["name": "done"], ["name": "won", "terminal": "won"]],
            "transitions": [["action": "start", "from": ["new"], "to": "campaign"], ["action": "win", "from": ["done"], "to": "won"]],
            "gateways": [["name": "drip", "stage": "campaign", "kind": "parallel", "join": "done", "branches": [["name": "mail", "steps": [
                ["name": "s1", "integration": "good", "compensate": ["integration": "good"]],
                ["name": "s2", "integration": "missing", "compensate": ["integration": "good"]],
            ]]]]],
        ])
        try await accepted("lead.create", ["leadId": "L-1"])
        try await accepted("lead.apply", ["leadId": "L-1", "action": "start"])
        let shard = deployment.shard("acme")
        let restored = try await eventually(timeout: .seconds(30)) {
            try await deployment.redis.send("HGET", shard.record(tenant: "acme", entity: "lead", id: "L-1"), "d").string?.contains("\"stage\":\"new\"") == true
        }
        #expect(restored)
        let failed = try await deployment.envelopes(shard.events).first { $0.type == "integration.failed" }
        #expect(failed?.payload["attempts"] == 0 && failed?.payload["permanent"] == true && failed?.payload["integration"] == "missing")
        #expect(good.requests(answered: true).filter { $0.operation == "compensate" }.count == 1, "step 1 undone")
        await client.close()
        await deployment.stopAll()
    }
}
