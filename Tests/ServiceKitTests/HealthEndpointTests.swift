import Foundation
import TestSupport
import Testing

/// The health port of the stream services (CRM_HEALTH_PORT) that Kubernetes probes call
/// (deploy/kubernetes): /livez while the consumer loop turns, /readyz only while it also reaches Redis.
@Suite("Health endpoints of a real service process")
struct HealthEndpointTests {
    func get(_ url: String) async throws -> (status: Int, body: String) {
        let result = try await ServiceProcess.runTool("/usr/bin/curl", arguments: ["-s", "-m", "5", "-o", "/dev/stdout", "-w", "\n%{http_code}", url])
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    @Test("pipeline-service answers /livez and /readyz; a Redis outage makes it unready but alive; SIGTERM still exits 0")
    func probes() async throws {
        let server = try await RedisServerProcess(appendOnly: true)
        let logs = server.directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let service = try ServiceProcess("pipeline-service", environment: [
            "CRM_REDIS_URL": server.url, "CRM_SHARDS": "4", "CRM_CONSUMER": "pipeline-health-1", "CRM_HEALTH_PORT": "0", "CRM_HEALTH_HOST": "127.0.0.1",
            "CRM_BLOCK_MS": "100",
        ], logDirectory: logs)
        defer { if service.isRunning { service.signal(SIGKILL) } }
        #expect(await service.waitForLog("] ready"), "its log:\n\(service.log)")
        #expect(await service.waitForLog("health.port="), "its log:\n\(service.log)")
        let port = try #require(service.log.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("health.port=") }?.dropFirst("health.port=".count))
        let base = "http://127.0.0.1:\(port)"

        #expect(try await eventually { try await get("\(base)/readyz").status == 200 })
        let ready = try await get("\(base)/readyz")
        #expect(ready.body.contains("\"status\":\"ready\"") && ready.body.contains("\"consumer\":\"pipeline-health-1\""), "\(ready.body)")
        let alive = try await get("\(base)/livez")
        #expect(alive.status == 200 && alive.body.contains("\"status\":\"alive\""), "\(alive.body)")
        #expect(try await get("\(base)/nothing").status == 404)

        // Redis away: the loop keeps turning (backing off), so alive, but not ready.
        server.stop()
        #expect(try await eventually(timeout: .seconds(15)) { try await get("\(base)/readyz").status == 503 })
        #expect(try await get("\(base)/livez").status == 200)
        #expect(try await get("\(base)/readyz").body.contains("\"status\":\"not_ready\""))

        // Redis back with its data (AOF): ready again. (Without its consumer groups the loop would fail on
        // NOGROUP and the service would stay unready, which is the truth.)
        try await server.start()
        #expect(try await eventually(timeout: .seconds(15)) { try await get("\(base)/readyz").status == 200 })

        service.signal(SIGTERM)
        #expect(await service.waitForExit() == 0)
    }

    @Test("a health port out of range is refused at start, naming the setting")
    func badPort() async throws {
        let result = try await ServiceProcess.run("pipeline-service", arguments: [], environment: ["CRM_HEALTH_PORT": "70000"])
        #expect(result.status != 0)
        #expect(result.output.contains("--health-port (CRM_HEALTH_PORT) must be 0…65535, not 70000"), "\(result.output)")
    }
}
