public import Contracts
import Foundation
public import Logging
import Metrics
import CoreMetrics
public import Prometheus
public import RedisClient
public import ServiceLifecycle
import UnixSignals

/// What a service's handler gets to build itself: the shared pool, the shard router, a logger.
public struct ServiceContext: Sendable {
    public let name: String
    public let options: ServiceOptions
    public let pool: RedisPool
    public let router: ShardRouter
    public let logger: Logger

    public init(name: String, options: ServiceOptions, pool: RedisPool, router: ShardRouter, logger: Logger) {
        self.name = name
        self.options = options
        self.pool = pool
        self.router = router
        self.logger = logger
    }
}

/// Wires a service's process: logging, metrics, the Redis pool, the consumer loop and the heartbeat,
/// run as a ServiceGroup that shuts down gracefully on SIGTERM or SIGINT.
public enum ServiceRunner {
    /// Process-wide logging and metrics, once per executable (never in tests).
    public static func bootstrap(name: String, options: ServiceOptions) -> (Logger, PrometheusCollectorRegistry) {
        let level = options.level
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var logger = Logger(label: name)
        logger[metadataKey: "crm.service"] = "\(name)"
        return (logger, registry)
    }

    /// Runs the service; `extraServices` run beside the consumer (e.g. audit-service's archiver).
    public static func run(name: String, options: ServiceOptions, makeHandler: (ServiceContext) async throws -> any MessageHandler,
                           extraServices: (ServiceContext) throws -> [any Service] = { _ in [] }) async throws {
        let (logger, registry) = bootstrap(name: name, options: options)

        let endpoint: RedisEndpoint
        do {
            endpoint = try RedisEndpoint(url: options.redisURL)
        } catch {
            logger.critical("bad configuration", metadata: ["error": "\(error)"])
            throw error
        }
        // Lanes of a batch run concurrently, each holding a connection while it commits.
        let pool = RedisPool(endpoint: endpoint, size: min(max(options.batchSize, 4), 32), options: RedisConnectionOptions(clientName: "\(name):\(options.consumer)"),
                             waitTimeout: .seconds(10), logger: logger)
        let context = ServiceContext(name: name, options: options, pool: pool, router: ShardRouter(shards: options.shards), logger: logger)
        let handler = try await makeHandler(context)
        let health = ConsumerHealth()
        let consumer = StreamConsumer(handler: handler, settings: ConsumerSettings(options), router: context.router, pool: pool, logger: logger, health: health)
        let heartbeat = Heartbeat(service: handler.group, consumer: options.consumer, pool: pool, registry: registry, logger: logger)
        logger.info("starting", metadata: ["redis.endpoint": "\(endpoint)", "crm.shards": "\(options.shards)", "crm.consumer": "\(options.consumer)"])
        // The group stops services in reverse order: the consumer finishes first, the heartbeat last.
        let endpoints: [any Service] = options.healthPort.map { [HealthEndpoints.service(name: name, consumer: options.consumer, health: health,
                                                                                         host: options.healthHost, port: $0, logger: logger)] } ?? []
        let services: [any Service] = [heartbeat] + endpoints + (try extraServices(context)) + [consumer]
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        try await group.run()
        await pool.close()
    }
}
