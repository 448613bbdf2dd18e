import CrmKit
import Hummingbird
import Logging
import NIOCore
import RedisClient
public import ServiceKit
import ServiceLifecycle

/// Wires the gateway process: the HTTP application and the heartbeat, stopped gracefully on SIGTERM.
public enum GatewayRunner {
    public static func run(options: ServiceOptions, host: String, port: Int, settings: GatewaySettings) async throws {
        let (logger, registry) = ServiceRunner.bootstrap(name: "gateway", options: options)
        let endpoint = try RedisEndpoint(url: options.redisURL)
        let client = CrmClient(endpoint: endpoint, shards: options.shards, poolSize: 16)
        let router = Router()
        GatewayRoutes(client: client, registry: registry, settings: settings).register(on: router)
        let heartbeat = Heartbeat(service: "gateway", consumer: options.consumer, pool: client.pool, registry: registry, logger: logger)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "nexus-crm-gateway"),
            services: [heartbeat],
            onServerRunning: { channel in
                logger.info("ready", metadata: ["http.address": "\(channel.localAddress.map { "\($0)" } ?? "?")",
                                                "http.port": "\(channel.localAddress?.port ?? port)"])
            },
            logger: logger
        )
        try await app.runService()
        await client.close()
    }
}
