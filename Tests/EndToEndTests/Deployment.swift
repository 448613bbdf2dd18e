import Contracts
import Foundation
import RedisClient
import TestSupport
import Testing

/// A redis-server plus the real service binaries, as `make run` starts them, for one test.
final class Deployment: @unchecked Sendable {
    let server: RedisServerProcess
    let redis: RedisConnection
    let logs: URL
    let router = ShardRouter(shards: 4)
    private(set) var services: [ServiceProcess] = []

    init() async throws {
        server = try await RedisServerProcess(appendOnly: true)
        redis = server.connection()
        logs = server.directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
    }

    var environment: [String: String] { ["CRM_REDIS_URL": server.url, "CRM_SHARDS": "4", "CRM_LOG_LEVEL": "info"] }

    /// Starts a service binary and waits for its "ready" line.
    @discardableResult
    func start(_ binary: String, consumer: String? = nil, extra: [String: String] = [:]) async throws -> ServiceProcess {
        var env = environment.merging(extra) { $1 }
        env["CRM_CONSUMER"] = consumer ?? "\(binary)-\(services.count)"
        let service = try ServiceProcess(binary, environment: env, logDirectory: logs)
        services.append(service)
        guard await service.waitForLog("] ready") else {
            throw TestHarnessError.timedOut("\(binary) to log ready; its log:\n\(service.log)")
        }
        return service
    }

    /// Runs crmctl against this deployment.
    func crmctl(_ arguments: [String], input: Data? = nil) async throws -> (status: Int32, output: String) {
        try await ServiceProcess.run("crmctl", arguments: arguments, environment: environment, input: input)
    }

    func shard(_ tenant: String) -> ShardKeys { router.keys(forTenant: tenant) }

    func envelopes(_ stream: String) async throws -> [Envelope] {
        try await redis.xrange(stream).map { try EnvelopeReader().read($0.field("envelope") ?? []) }
    }

    /// Waits until every group on `stream` has read everything and acknowledged it.
    func drained(_ stream: String, timeout: Duration = .seconds(20)) async throws -> Bool {
        try await eventually(timeout: timeout) {
            let groups = try await redis.xinfoGroups(stream)
            return !groups.isEmpty && groups.allSatisfy { $0.lag == 0 && $0.pending == 0 }
        }
    }

    func stopAll() async {
        for service in services where service.isRunning { service.signal(SIGTERM) }
        for service in services { _ = await service.waitForExit(timeout: .seconds(10)) }
    }

    deinit {
        for service in services where service.isRunning { service.signal(SIGKILL) }
    }

    static var examples: URL { ServiceProcess.packageRoot.appendingPathComponent("contracts/v1/examples") }

    /// Runs the JSON Schema validator (Python's jsonschema) over the contracts and, optionally, envelopes in a file.
    static func validateContracts(_ files: [String] = []) async throws -> (status: Int32, output: String) {
        let script = ServiceProcess.packageRoot.appendingPathComponent("scripts/validate_contracts.py").path
        return try await ServiceProcess.runTool("/usr/bin/env", arguments: ["python3", script] + files)
    }
}
