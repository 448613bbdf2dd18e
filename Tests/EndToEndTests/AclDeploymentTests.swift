import Contracts
import Foundation
import RedisClient
import TestSupport
import Testing

@Suite("The shipped ACL users and AOF settings", .serialized)
struct AclDeploymentTests {
    // REL-CRM-0403, BUS-CRM-0044: what was acknowledged survives a restart, with the shipped ACL file.
    @Test("an ACL deployment keeps its data across a Redis restart (AOF replay of Lua effects)")
    func aclDeploymentSurvivesRestart() async throws {
        let acl = ServiceProcess.packageRoot.appendingPathComponent("deploy/users.acl").path
        let server = try await RedisServerProcess(appendOnly: true, extraArguments: ["--aclfile", acl, "--appendfsync", "always"],
                                                  adminUser: ("crmctl", "crmctl-dev-secret"))
        let logs = server.directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        var services: [ServiceProcess] = []
        for (binary, user) in [("pipeline-service", "pipeline"), ("audit-service", "audit")] {
            let service = try ServiceProcess(binary, environment: [
                "CRM_REDIS_URL": server.url(user: user, password: "\(user)-dev-secret"), "CRM_CONSUMER": "\(binary)-acl",
            ], logDirectory: logs)
            #expect(await service.waitForLog("] ready"), "\(service.log)")
            services.append(service)
        }
        let crmctl = ["CRM_REDIS_URL": server.url(user: "crmctl", password: "crmctl-dev-secret")]
        for name in ["01-definition.publish.json", "04-lead.create.json"] {
            let path = ServiceProcess.packageRoot.appendingPathComponent("contracts/v1/examples/\(name)").path
            let result = try await ServiceProcess.run("crmctl", arguments: ["publish", path], environment: crmctl)
            #expect(result.status == 0, "\(name): \(result.output)")
        }
        let redis = server.connection()
        let shard = ShardRouter(shards: 4).keys(forTenant: "acme")
        #expect(try await eventually { try await redis.xlen(shard.audit) == 4 })
        let before = try await redis.xrange(shard.events)
        for service in services { service.signal(SIGTERM) }
        for service in services { #expect(await service.waitForExit() == 0) }
        await redis.close()

        try await server.restart()
        let reopened = server.connection()
        #expect(try await reopened.xrange(shard.events) == before, "every event is back after the AOF replay")
        #expect(try await reopened.xlen(shard.audit) == 4)
        #expect(try await reopened.send("HGET", shard.record(tenant: "acme", entity: "lead", id: "L-1001"), "v").integer == 1)
        let log = (try? String(contentsOf: server.directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
        #expect(!log.contains("CRITICAL"), "Redis refused part of its AOF:\n\(log.suffix(2000))")
        // Nobody gets in as the default user.
        let anonymous = RedisConnection(endpoint: RedisEndpoint(address: .unixSocket(path: server.socketPath)))
        await #expect(throws: RedisError.self) { try await anonymous.send("GET", shard.record(tenant: "acme", entity: "lead", id: "L-1001")) }
        let audit = RedisConnection(endpoint: try RedisEndpoint(url: server.url(user: "audit", password: "audit-dev-secret")))
        await #expect(throws: RedisError.self) { try await audit.send("HSET", shard.record(tenant: "acme", entity: "lead", id: "L-1001"), "v", "9") }
        // SEC-CRM-0461: only audit-service's user writes the trail.
        for user in ["pipeline", "assignment", "sla", "integration", "gateway", "crmctl"] {
            let other = RedisConnection(endpoint: try RedisEndpoint(url: server.url(user: user, password: "\(user)-dev-secret")))
            do {
                try await other.send("XADD", shard.audit, "*", "envelope", "{}", "seq", "99", "hash", "x", "prev", "y")
                Issue.record("\(user) could write the audit trail")
            } catch let error as RedisError {
                #expect(error.serverCode == "NOPERM", "\(user): \(error)")
            }
        }
    }
}
