import Contracts
import CrmKit
import CrmRedis
import Foundation
@testable import GatewayService
import Hummingbird
import HummingbirdTesting
import HTTPTypes
import NIOCore
import Prometheus
import RedisClient
import TestSupport
import Testing

/// A real redis-server and the real pipeline, assignment and audit services (and any others asked for), with the gateway's routes
/// in process under Hummingbird's test client. Tenants `acme` and `globex` each have an admin with a key;
/// acme also has the example lead and opportunity definitions and a sales user `u-30` with a key.
final class GatewayFixture: @unchecked Sendable {
    let server: RedisServerProcess
    let client: CrmClient
    var services: [ServiceProcess] = []
    let acmeKey = "crm.acme.\(String(repeating: "a", count: 43))"
    let salesKey = "crm.acme.\(String(repeating: "s", count: 43))"
    let globexKey = "crm.globex.\(String(repeating: "g", count: 43))"

    /// `extraServices`: binaries to run besides pipeline, assignment and audit (e.g. `sla-timer-service`).
    init(extraServices: [String] = []) async throws {
        server = try await RedisServerProcess()
        client = CrmClient(endpoint: server.endpoint, shards: 4)
        let logs = server.directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        for binary in ["pipeline-service", "assignment-service", "audit-service"] + extraServices {
            let service = try ServiceProcess(binary, environment: ["CRM_REDIS_URL": server.url, "CRM_SHARDS": "4", "CRM_CONSUMER": "\(binary)-1"], logDirectory: logs)
            services.append(service)
            guard await service.waitForLog("] ready") else { throw TestHarnessError.timedOut("\(binary) to start: \(service.log)") }
        }
        try await command("acme", "u-17", "directory.put_user", ["userId": "u-17", "roles": ["admin", "sales"], "teams": ["sales"]])
        try await command("acme", "u-17", "directory.put_user", ["userId": "u-30", "roles": ["sales"], "teams": ["sales"]])
        try await command("globex", "u-9", "directory.put_user", ["userId": "u-9", "roles": ["admin", "sales"]])
        for (tenant, user, key) in [("acme", "u-17", acmeKey), ("acme", "u-30", salesKey), ("globex", "u-9", globexKey)] {
            try await command(tenant, tenant == "acme" ? "u-17" : "u-9", "directory.put_api_key",
                              ["keyHash": .string(Checksum.sha256(Array(key.utf8))), "userId": .string(user), "name": "test"])
        }
        for example in ["01-definition.publish.json", "13-definition.publish.json"] {
            let data = try Data(contentsOf: ServiceProcess.packageRoot.appendingPathComponent("contracts/v1/examples/\(example)"))
            var envelope = try EnvelopeReader().read(Array(data))
            envelope.id = Envelope.newID()
            let result = try await client.send(envelope, timeout: .seconds(15))
            #expect(result.accepted, "\(example): \(result.outcome.json)")
        }
    }

    /// Sends a command straight to its stream (as an operator's crmctl would) and expects it accepted.
    func command(_ tenant: String, _ actor: String, _ type: String, _ payload: JSONValue) async throws {
        let result = try await client.send(Envelope(type: type, kind: .command, tenant: tenant, actor: actor, payload: payload), timeout: .seconds(15))
        #expect(result.accepted, "\(type): \(result.outcome.json)")
    }

    func routes(_ settings: GatewaySettings = GatewaySettings()) -> GatewayRoutes {
        GatewayRoutes(client: client, registry: PrometheusCollectorRegistry(), settings: settings)
    }

    /// Runs `body` against an application with the gateway's routes.
    func test(_ settings: GatewaySettings = GatewaySettings(), _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let router = Router()
        routes(settings).register(on: router)
        try await Application(router: router).test(.router) { client in try await body(client) }
    }

    func stop() async {
        for service in services where service.isRunning { service.signal(SIGTERM) }
        for service in services { _ = await service.waitForExit(timeout: .seconds(10)) }
        await client.close()
    }

    deinit {
        for service in services where service.isRunning { service.signal(SIGKILL) }
    }
}

/// One HTTP exchange, its body as JSON when it is JSON.
struct Exchange {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String
    var json: JSONValue { (try? JSONValue.parse(Array(text.utf8))) ?? .null }
    var errorCode: String? { json["error"]?["code"]?.stringValue }
    var errorField: String? { json["error"]?["field"]?.stringValue }
}

extension TestClientProtocol {
    func call(_ method: HTTPRequest.Method, _ uri: String, key: String?, json: JSONValue? = nil, body: [UInt8]? = nil,
              headers extra: HTTPFields = [:]) async throws -> Exchange {
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        var buffer: ByteBuffer?
        if let json {
            headers[.contentType] = "application/json"
            buffer = ByteBuffer(bytes: json.compactJSON)
        } else if let body {
            buffer = ByteBuffer(bytes: body)
        }
        let response = try await executeRequest(uri: uri, method: method, headers: headers, body: buffer)
        return Exchange(status: response.status, headers: response.headers, text: String(buffer: response.body))
    }
}
