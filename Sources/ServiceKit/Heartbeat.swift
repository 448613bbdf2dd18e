import Contracts
import Foundation
public import Logging
public import Prometheus
public import RedisClient
public import ServiceLifecycle

/// Publishes the service's health (`crm:health:<service>:<consumer>`) and its Prometheus text
/// metrics (`crm:metrics:<service>:<consumer>`) every few seconds, each with a TTL so a dead
/// consumer disappears from `crmctl status`.
public final class Heartbeat: Service, Sendable {
    private let service: String
    private let consumer: String
    private let pool: RedisPool
    private let registry: PrometheusCollectorRegistry?
    private let interval: Duration
    private let logger: Logger
    private let startedAt = Envelope.timestamp()

    public init(service: String, consumer: String, pool: RedisPool, registry: PrometheusCollectorRegistry?, interval: Duration = .seconds(5), logger: Logger) {
        self.service = service
        self.consumer = consumer
        self.pool = pool
        self.registry = registry
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let ttl = Int(interval.seconds * 3)
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.beat(ttl: ttl, status: "running")
                try await Task.sleep(for: self.interval)
            }
        }
        _ = try? await pool.send("DEL", ServiceKeys.health(service: service, consumer: consumer))
    }

    private func beat(ttl: Int, status: String) async {
        let health: [String: JSONValue] = [
            "service": .string(service), "consumer": .string(consumer), "status": .string(status),
            "pid": .integer(Int64(ProcessInfo.processInfo.processIdentifier)),
            "startedAt": .string(startedAt), "beatAt": .string(Envelope.timestamp()),
        ]
        var commands = [RedisCommand("SET", [ServiceKeys.health(service: service, consumer: consumer), JSONValue.object(health).compactJSON, "EX", ttl])]
        if let registry {
            commands.append(RedisCommand("SET", [ServiceKeys.metrics(service: service, consumer: consumer), registry.emitToBuffer(), "EX", ttl]))
        }
        do {
            _ = try await pool.pipeline(commands)
        } catch {
            logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
        }
    }
}
