public import ArgumentParser
public import Contracts
public import CrmRedis
import Foundation
public import Logging

/// The settings every executable shares (DESIGN §3): each flag defaults to its `CRM_*` variable.
public struct ServiceOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("redis-url"), help: "Redis URL, redis://[user:password@]host:port[/db], unix://[user:password@]/path[?db=N] or, for a Redis Cluster, redis+cluster://[user:password@]host1:port1,host2:port2 (env CRM_REDIS_URL).")
    public var redisURL: String = Environment.string("CRM_REDIS_URL") ?? "redis://127.0.0.1:6379"

    @Option(name: .customLong("shards"), help: "Shard count of the deployment, fixed for its life; on a Redis Cluster 16 or 64, well above the node count (env CRM_SHARDS).")
    public var shards: Int = Environment.int("CRM_SHARDS") ?? 4

    @Option(name: .customLong("consumer"), help: "Consumer name in the groups, unique per process (env CRM_CONSUMER; default host-pid).")
    public var consumer: String = Environment.string("CRM_CONSUMER") ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env CRM_LOG_LEVEL).")
    public var logLevel: String = Environment.string("CRM_LOG_LEVEL") ?? "info"

    @Option(name: .customLong("max-envelope-bytes"), help: "Largest envelope accepted; bigger ones go to the DLQ (env CRM_MAX_ENVELOPE_BYTES).")
    public var maxEnvelopeBytes: Int = Environment.int("CRM_MAX_ENVELOPE_BYTES") ?? 1 << 20

    @Option(name: .customLong("batch-size"), help: "Entries read per XREADGROUP (env CRM_BATCH_SIZE).")
    public var batchSize: Int = Environment.int("CRM_BATCH_SIZE") ?? 64

    @Option(name: .customLong("block-ms"), help: "How long one read waits for new entries, in ms (env CRM_BLOCK_MS).")
    public var blockMilliseconds: Int = Environment.int("CRM_BLOCK_MS") ?? 1000

    @Option(name: .customLong("claim-idle-ms"), help: "Pending entries idle this long (a crashed or stuck consumer) are claimed, in ms (env CRM_CLAIM_IDLE_MS).")
    public var claimIdleMilliseconds: Int = Environment.int("CRM_CLAIM_IDLE_MS") ?? 30_000

    @Option(name: .customLong("max-deliveries"), help: "Deliveries after which an entry goes to the DLQ (env CRM_MAX_DELIVERIES).")
    public var maxDeliveries: Int = Environment.int("CRM_MAX_DELIVERIES") ?? 5

    @Option(name: .customLong("idempotency-ttl-s"), help: "How long a command id is remembered, so a replay returns its first outcome, in seconds (env CRM_IDEMPOTENCY_TTL_S).")
    public var idempotencyTTLSeconds: Int = Environment.int("CRM_IDEMPOTENCY_TTL_S") ?? 7 * 24 * 3600

    @Option(name: .customLong("emit-versions"), help: "Versions to write during a rolling upgrade, e.g. interaction.logged=2; unset types are written at the version the previous build reads (env CRM_EMIT_VERSIONS).")
    public var emitVersions: String = Environment.string("CRM_EMIT_VERSIONS") ?? ""

    @Option(name: .customLong("health-port"), help: "Port of the HTTP health endpoints /livez and /readyz, none when unset; 0 picks a free one (env CRM_HEALTH_PORT).")
    public var healthPortFlag: Int?

    /// The health port: the flag, else CRM_HEALTH_PORT, else none.
    public var healthPort: Int? { healthPortFlag ?? Environment.int("CRM_HEALTH_PORT") }

    @Option(name: .customLong("health-host"), help: "Address the health endpoints listen on (env CRM_HEALTH_HOST).")
    public var healthHost: String = Environment.string("CRM_HEALTH_HOST") ?? "0.0.0.0"

    public init() {}

    /// The emit versions, checked by `validate()`.
    public var emitPolicy: EmitVersions { (try? EmitVersions(parsing: emitVersions)) ?? EmitVersions() }

    /// How commits are written: the idempotency TTL and the emit versions.
    public var commitPolicy: CommitPolicy { CommitPolicy(idempotencyTTLSeconds: idempotencyTTLSeconds, emitVersions: emitPolicy) }

    /// The options as the environment sets them, without command-line flags (for embedding and tests).
    public static func fromEnvironment() throws -> ServiceOptions { try parse([]) }

    /// Checks the values and names the one that is wrong.
    public mutating func validate() throws {
        guard shards >= 1, shards <= 1024 else { throw ValidationError("--shards (CRM_SHARDS) must be 1…1024, not \(shards)") }
        guard Logger.Level(rawValue: logLevel.lowercased()) != nil else {
            throw ValidationError("--log-level (CRM_LOG_LEVEL) must be trace, debug, info, notice, warning, error or critical, not '\(logLevel)'")
        }
        guard batchSize >= 1, batchSize <= 10_000 else { throw ValidationError("--batch-size (CRM_BATCH_SIZE) must be 1…10000") }
        guard blockMilliseconds >= 1, blockMilliseconds <= 60_000 else { throw ValidationError("--block-ms (CRM_BLOCK_MS) must be 1…60000") }
        guard claimIdleMilliseconds >= 10 else { throw ValidationError("--claim-idle-ms (CRM_CLAIM_IDLE_MS) must be at least 10") }
        guard maxDeliveries >= 1 else { throw ValidationError("--max-deliveries (CRM_MAX_DELIVERIES) must be at least 1") }
        guard idempotencyTTLSeconds >= 60 else { throw ValidationError("--idempotency-ttl-s (CRM_IDEMPOTENCY_TTL_S) must be at least 60") }
        guard maxEnvelopeBytes >= 1024 else { throw ValidationError("--max-envelope-bytes (CRM_MAX_ENVELOPE_BYTES) must be at least 1024") }
        do { _ = try EmitVersions(parsing: emitVersions) } catch { throw ValidationError("--emit-versions (CRM_EMIT_VERSIONS): \(error)") }
        if let healthPort, !(0...65535).contains(healthPort) { throw ValidationError("--health-port (CRM_HEALTH_PORT) must be 0…65535, not \(healthPort)") }
        guard !consumer.isEmpty, !consumer.contains(" ") else { throw ValidationError("--consumer (CRM_CONSUMER) must be a non-empty name without spaces") }
    }

    public var level: Logger.Level { Logger.Level(rawValue: logLevel.lowercased()) ?? .info }
}

/// Reads configuration from the process environment.
public enum Environment {
    public static func string(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    public static func int(_ name: String) -> Int? { string(name).flatMap { Int($0) } }
}
