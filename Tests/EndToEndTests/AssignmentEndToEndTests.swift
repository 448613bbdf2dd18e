import Contracts
import CrmKit
import Foundation
import RedisClient
import TestSupport
import Testing

@Suite("assignment-service with the real binaries", .serialized)
struct AssignmentEndToEndTests {
    func command(_ type: String, _ payload: JSONValue, actor: String = "boss") -> Envelope {
        Envelope(type: type, kind: .command, tenant: "acme", actor: actor, payload: payload)
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

    // FUN-CRM-0244, REL-CRM-0397: round-robin is fair with several consumers; approvals drive the pipeline.
    @Test("1,000 round-robin assignments over 7 users with 3 assignment-service consumers: within ±1; an approval applies its action")
    func roundRobinAcrossConsumers() async throws {
        let deployment = try await Deployment()
        try await deployment.start("pipeline-service")
        for index in 1...3 { try await deployment.start("assignment-service", consumer: "assign-\(index)", extra: ["CRM_BATCH_SIZE": "32"]) }
        let client = CrmClient(endpoint: try RedisEndpoint(url: deployment.server.url), shards: 4)
        func accepted(_ envelope: Envelope) async throws {
            let result = try await client.send(envelope, timeout: .seconds(20))
            #expect(result.accepted, "\(envelope.type): \(result.outcome.payload)")
        }
        try await accepted(command("directory.put_user", ["userId": "boss", "roles": ["admin"]]))
        for index in 1...7 { try await accepted(command("directory.put_user", ["userId": .string("u\(index)"), "roles": ["sales"], "teams": ["sales"]])) }
        try await accepted(command("definition.publish", [
            "entity": "lead", "name": "Leads", "stages": [["name": "new", "initial": true], ["name": "won", "terminal": "won"]],
            "transitions": [["action": "close_won", "from": ["new"], "to": "won", "approval": true]],
        ]))
        let shard = deployment.shard("acme")
        try await publishAll((1...1000).map { command("lead.create", ["leadId": .string("L-\($0)")]) }, deployment)
        #expect(try await deployment.drained(shard.commands(.pipeline), timeout: .seconds(60)))
        try await publishAll((1...1000).map { command("assignment.request", ["subject": .string("lead:L-\($0)"), "strategy": "round_robin", "team": "sales"]) },
                             deployment)
        #expect(try await deployment.drained(shard.commands(.assignment), timeout: .seconds(120)))

        let events = try await deployment.envelopes(shard.events)
        let assigned = events.filter { $0.type == "record.assigned" }
        #expect(assigned.count == 1000, "every request assigned once")
        let counts = Dictionary(grouping: assigned, by: { $0.payload["assignee"]?.stringValue ?? "" }).mapValues(\.count)
        #expect(counts.count == 7 && counts.values.max()! - counts.values.min()! <= 1, "\(counts)")
        #expect(try await deployment.redis.xinfoGroups(shard.commands(.assignment)).first?.consumers == 3)

        // An approval decided by a vote: assignment-service sends the action, pipeline-service applies it.
        try await accepted(command("approval.request", ["approvalId": "AP-1", "subject": "lead:L-1", "action": "close_won",
                                                        "approvers": ["u1", "u2"], "strategy": "first_response"], actor: "u3"))
        try await accepted(command("approval.vote", ["approvalId": "AP-1", "vote": "approve"], actor: "u2"))
        let won = try await eventually(timeout: .seconds(20)) {
            try await deployment.redis.send("HGET", shard.record(tenant: "acme", entity: "lead", id: "L-1"), "d").string?.contains("\"stage\":\"won\"") == true
        }
        #expect(won, "the approved action was applied by pipeline-service")
        let changed = try await deployment.envelopes(shard.events).first { $0.type == "lead.stage_changed" }
        #expect(changed?.actor == "u3" && changed?.payload["action"] == "close_won", "applied on the submitter's behalf")

        // What a person looks at: a user's queue, the pending approvals, the delegations.
        // (a user other than L-1's, whose record is now closed)
        let owner = assigned.first { $0.payload["subject"] == "lead:L-1" }?.payload["assignee"]?.stringValue
        let user = owner == "u4" ? "u5" : "u4"
        let queue = try await deployment.crmctl(["queue", "--tenant", "acme", user])
        let queueLines = queue.output.split(separator: "\n")
        let open = try JSONValue.parse(Array(queueLines.last.map(String.init)?.utf8 ?? "".utf8))["open"]?.doubleValue ?? 0
        #expect(queue.status == 0 && (142...143).contains(Int(open)) && queueLines.count == Int(open) + 1, "\(queue.output.suffix(300))")
        try await accepted(command("approval.request", ["approvalId": "AP-2", "subject": "lead:L-2", "action": "close_won",
                                                        "approvers": ["u1", "u5"], "strategy": "unison"], actor: "u3"))
        let waiting = try await deployment.crmctl(["approvals", "--tenant", "acme", "--user", "u5"])
        #expect(waiting.output.contains("\"approvalId\":\"AP-2\"") && !waiting.output.contains("AP-1"), "\(waiting.output)")
        let all = try await deployment.crmctl(["approvals", "--tenant", "acme"])
        #expect(all.output.contains("\"status\":\"approved\""), "\(all.output)")
        try await accepted(command("delegation.set", ["delegationId": "D-1", "delegator": "u1", "delegatee": "u2",
                                                      "from": "2099-01-01T09:00:00+01:00", "until": "2099-01-08T18:00:00+01:00"], actor: "u1"))
        let delegations = try await deployment.crmctl(["delegations", "--tenant", "acme", "--user", "u2"])
        #expect(delegations.output.contains("\"delegationId\":\"D-1\"") && delegations.output.contains("\"activeNow\":false"), "\(delegations.output)")
        await client.close()
        await deployment.stopAll()
    }
}
