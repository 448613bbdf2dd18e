import Contracts
import Foundation
import RedisClient
import TestSupport
import Testing

@Suite("crmctl define: a definition file compiled, its problems listed, then published")
struct DefineCommandTests {
    // FUN-CRM-0275: definitions are JSON, compiled and validated before they are stored.
    @Test("a broken file lists every problem and sends nothing; a good one is published as the next version")
    func define() async throws {
        let deployment = try await Deployment()
        try await deployment.start("pipeline-service")
        let folder = deployment.server.directory
        let broken = folder.appendingPathComponent("broken.json")
        try Data("""
        {"entity":"lead","name":"X","stages":[{"name":"new","initial":true},{"name":"new"},{"name":"orphan"}],
         "transitions":[{"action":"go","from":["new"],"to":"nowhere","condition":"data.score >"}]}
        """.utf8).write(to: broken)
        let refused = try await deployment.crmctl(["define", "--tenant", "acme", "--actor", "u-17", broken.path])
        #expect(refused.status == 1)
        for expected in ["stages[1].name: duplicate stage 'new'", "transitions[0].to: unknown stage 'nowhere'",
                         "stage 'orphan' cannot be reached", "transitions[0].condition: column 13", "4 problem(s); nothing was published"] {
            #expect(refused.output.contains(expected), "\(refused.output)")
        }
        let shard = deployment.shard("acme")
        #expect(try await deployment.redis.xlen(shard.commands(.pipeline)) == 0, "nothing was sent")

        let example = try JSONValue.parse(Array(try Data(contentsOf: Deployment.examples.appendingPathComponent("01-definition.publish.json"))))
        let good = folder.appendingPathComponent("leads.json")
        try JSONEncoder().encode(try #require(example["payload"])).write(to: good)
        let checked = try await deployment.crmctl(["define", "--check", "--tenant", "acme", "--actor", "u-17", good.path])
        #expect(checked.status == 0 && checked.output.contains("compiles (lead, 5 stages, 4 transitions)"), "\(checked.output)")
        for version in 1...2 {
            let published = try await deployment.crmctl(["define", "--tenant", "acme", "--actor", "u-17", good.path])
            #expect(published.status == 0, "\(published.output)")
            #expect(published.output.contains("\"recordVersion\":\(version)"), "\(published.output)")
        }
        #expect(try await deployment.redis.send("HGET", shard.definitions(tenant: "acme", entity: "lead"), "v").integer == 2)
        await deployment.stopAll()
    }
}
