import Contracts
import CrmKit
import Foundation
import RedisClient
import TestSupport
import Testing

/// The saga coordinator in the real pipeline-service: integration results arrive on the events
/// stream (written here as integration-service writes them), and the coordinator is SIGKILLed in the
/// middle of compensating.
@Suite("saga coordinator with the real pipeline-service", .serialized)
struct SagaEndToEndTests {
    // FUN-CRM-0241, REL-CRM-0402: compensation resumes after a crash and undoes nothing twice.
    @Test("a campaign's 4th step fails; pipeline-service killed mid-compensation resumes; each step compensated once, in reverse order")
    func compensationSurvivesACrash() async throws {
        let deployment = try await Deployment()
        let env = ["CRM_CLAIM_IDLE_MS": "500"]
        var pipeline = try await deployment.start("pipeline-service", consumer: "pipeline-1", extra: env)
        let client = CrmClient(endpoint: try RedisEndpoint(url: deployment.server.url), shards: 4)
        func accepted(_ type: String, _ payload: JSONValue) async throws {
            let result = try await client.send(Envelope(type: type, kind: .command, tenant: "acme", actor: "u-1", payload: payload), timeout: .seconds(20))
            #expect(result.accepted, "\(type): \(result.outcome.payload)")
        }
        let steps: [JSONValue] = (1...5).map { ["name": .string("s\($0)"), "integration": "webhook", "compensate": ["integration": "webhook"]] }
        try await accepted("definition.publish", [
            "entity": "lead", "name": "Drip", "stages": [["name": "new", "initial": true], ["name": "campaign"], ["name": "done"], ["name": "won", "terminal": "won"]],
            "transitions": [["action": "start", "from": ["new"], "to": "campaign"], ["action": "win", "from": ["done"], "to": "won"]],
            "gateways": [["name": "drip", "stage": "campaign", "kind": "parallel", "join": "done", "branches": [["name": "mail", "steps": .array(steps)]]]],
        ])
        try await accepted("lead.create", ["leadId": "L-1"])
        try await accepted("lead.apply", ["leadId": "L-1", "action": "start"])
        let shard = deployment.shard("acme")
        func calls(_ type: String) async throws -> [Envelope] {
            try await deployment.envelopes(shard.commands(.integration)).filter { $0.type == type }
        }
        func report(_ type: String, for call: Envelope, extra: [String: JSONValue] = [:]) async throws {
            var payload = call.payload.objectValue ?? [:]
            payload.removeValue(forKey: "input")
            payload["attempts"] = 1
            for (key, value) in extra { payload[key] = value }
            let event = call.event(type: type, payload: .object(payload), actor: "integration")
            _ = try await deployment.redis.xadd(shard.events, fields: [("envelope", event.encoded())])
        }
        func waitFor(_ type: String, count: Int) async throws -> [Envelope] {
            _ = try await eventually(timeout: .seconds(20)) { try await calls(type).count >= count }
            return try await calls(type)
        }
        for step in 0..<3 {
            let invoked = try await waitFor("integration.invoke", count: step + 1)
            try await report("integration.succeeded", for: invoked[step], extra: ["operation": "invoke"])
        }
        let fourth = try await waitFor("integration.invoke", count: 4)[3]
        try await report("integration.failed", for: fourth, extra: ["operation": "invoke", "reason": "HTTP 422", "permanent": true])
        let firstCompensation = try await waitFor("integration.compensate", count: 1)[0]
        #expect(firstCompensation.payload["step"] == 2)

        // The coordinator dies; its result arrives while it is down; another instance picks everything up.
        pipeline.signal(SIGKILL)
        _ = await pipeline.waitForExit()
        try await report("integration.compensated", for: firstCompensation)
        pipeline = try await deployment.start("pipeline-service", consumer: "pipeline-2", extra: env)
        let second = try await waitFor("integration.compensate", count: 2)[1]
        try await report("integration.compensated", for: second)
        let third = try await waitFor("integration.compensate", count: 3)[2]
        try await report("integration.compensated", for: third)
        try await report("integration.compensated", for: third)   // delivered twice
        let restored = try await eventually(timeout: .seconds(20)) {
            try await deployment.redis.send("HGET", shard.record(tenant: "acme", entity: "lead", id: "L-1"), "d").string?.contains("\"stage\":\"new\"") == true
        }
        #expect(restored, "the lead is back in its prior stage")
        #expect(try await deployment.drained(shard.events))
        let compensations = try await calls("integration.compensate").map { Int($0.payload["step"]?.doubleValue ?? -1) }
        #expect(compensations == [2, 1, 0], "each completed step compensated once, last completed first")
        let sagaEvents = try await deployment.envelopes(shard.events).map(\.type).filter { $0.hasPrefix("saga.") }
        #expect(sagaEvents == ["saga.compensating", "saga.compensated"])
        await client.close()
        await deployment.stopAll()
    }
}
