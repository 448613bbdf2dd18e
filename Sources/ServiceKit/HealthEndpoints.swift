import Contracts
import Hummingbird
import NIOCore
public import Logging
public import ServiceLifecycle

/// The optional HTTP health port of a stream service (CRM_HEALTH_PORT), for orchestrators' probes:
/// `GET /livez` is 200 unless the consumer loop is stuck (restart it), `GET /readyz` is 200 while the
/// loop turns and reaches Redis (503 during a Redis outage or shutdown). Bodies are small JSON objects.
public enum HealthEndpoints {
    /// Port 0 picks a free port (tests); the log line `health endpoints listening` names it.
    public static func service(name: String, consumer: String, health: ConsumerHealth, host: String, port: Int, logger: Logger) -> any Service {
        let router = Router()
        router.get("livez") { _, _ in response(health.isAlive, name: name, consumer: consumer, health: health, state: health.isAlive ? "alive" : "stalled") }
        router.get("readyz") { _, _ in response(health.isReady, name: name, consumer: consumer, health: health, state: health.isReady ? "ready" : "not_ready") }
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: name),
                           onServerRunning: { channel in
                               logger.info("health endpoints listening", metadata: ["health.port": "\(channel.localAddress?.port ?? port)"])
                           },
                           logger: logger)
    }

    private static func response(_ ok: Bool, name: String, consumer: String, health: ConsumerHealth, state: String) -> Response {
        let since = health.sinceLastTurn.map { JSONValue.integer($0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000) } ?? .null
        let body: JSONValue = ["service": .string(name), "consumer": .string(consumer), "status": .string(state), "msSinceLastTurn": since]
        return Response(status: ok ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: body.compactJSON)))
    }
}
