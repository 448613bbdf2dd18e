import Contracts
import CrmKit
@testable import GatewayService
import Hummingbird
import HummingbirdTesting
import Prometheus
import RedisClient
import Testing

@Suite("gateway health without Redis")
struct HealthTests {
    @Test("/healthz is 503 with the reason when Redis does not answer; API calls fail as 5xx, not as a hang")
    func redisDown() async throws {
        let client = CrmClient(endpoint: try RedisEndpoint(url: "unix:///nonexistent/crm-health-test.sock"), shards: 4)
        let router = Router()
        GatewayRoutes(client: client, registry: PrometheusCollectorRegistry()).register(on: router)
        try await Application(router: router).test(.router) { http in
            let health = try await http.call(.get, "/healthz", key: nil)
            #expect(health.status == .serviceUnavailable && health.json["status"] == "degraded", "\(health.text)")
            #expect(health.json["redis"]?.stringValue?.isEmpty == false)
            #expect(try await http.call(.get, "/v1/openapi.json", key: nil).status == .ok, "the document needs no Redis")
        }
        await client.close()
    }
}
