public import ArgumentParser
public import ServiceKit

/// integration-service's own settings (besides ServiceOptions): each flag defaults to its variable.
public struct IntegrationSettings: ParsableArguments, Sendable {
    @Option(name: .customLong("integration-max-attempts"), help: "Attempts per call before it is dead-lettered (env CRM_INTEGRATION_MAX_ATTEMPTS).")
    public var maxAttempts: Int = Environment.int("CRM_INTEGRATION_MAX_ATTEMPTS") ?? 5

    @Option(name: .customLong("integration-backoff-ms"), help: "Delay after the first failed attempt; doubled after each further one (env CRM_INTEGRATION_BACKOFF_MS).")
    public var backoffMilliseconds: Int = Environment.int("CRM_INTEGRATION_BACKOFF_MS") ?? 1000

    @Option(name: .customLong("integration-backoff-max-ms"), help: "Longest delay between attempts (env CRM_INTEGRATION_BACKOFF_MAX_MS).")
    public var backoffMaxMilliseconds: Int = Environment.int("CRM_INTEGRATION_BACKOFF_MAX_MS") ?? 300_000

    @Option(name: .customLong("integration-lease-ms"), help: "How long a worker holds a call; a call whose worker died is tried again after it. Must exceed every endpoint's timeout (env CRM_INTEGRATION_LEASE_MS).")
    public var leaseMilliseconds: Int = Environment.int("CRM_INTEGRATION_LEASE_MS") ?? 60_000

    @Option(name: .customLong("integration-poll-ms"), help: "How often each shard's due calls are looked for (env CRM_INTEGRATION_POLL_MS).")
    public var pollMilliseconds: Int = Environment.int("CRM_INTEGRATION_POLL_MS") ?? 50

    @Option(name: .customLong("integration-workers"), help: "Calls in flight at most in this process (env CRM_INTEGRATION_WORKERS).")
    public var workers: Int = Environment.int("CRM_INTEGRATION_WORKERS") ?? 64

    @Option(name: .customLong("integration-breaker-threshold"), help: "Transient failures in a row that open an endpoint's circuit breaker (env CRM_INTEGRATION_BREAKER_THRESHOLD).")
    public var breakerThreshold: Int = Environment.int("CRM_INTEGRATION_BREAKER_THRESHOLD") ?? 5

    @Option(name: .customLong("integration-breaker-cooldown-ms"), help: "How long an open breaker holds calls back before a trial call (env CRM_INTEGRATION_BREAKER_COOLDOWN_MS).")
    public var breakerCooldownMilliseconds: Int = Environment.int("CRM_INTEGRATION_BREAKER_COOLDOWN_MS") ?? 30_000

    @Option(name: .customLong("integration-tenant-rate"), help: "Calls per second per tenant at most in this process, 0 = unlimited (env CRM_INTEGRATION_TENANT_RATE).")
    public var tenantRatePerSecond: Double = Double(Environment.string("CRM_INTEGRATION_TENANT_RATE") ?? "") ?? 0

    @Option(name: .customLong("integration-plugin-dir"), help: "Where the deployment installs plugin executables; tenants register them by name (env CRM_INTEGRATION_PLUGIN_DIR).")
    public var pluginDirectory: String = Environment.string("CRM_INTEGRATION_PLUGIN_DIR") ?? "/usr/local/lib/nexus-crm/plugins"

    @Option(name: .customLong("integration-sandbox"), help: "The crm-plugin-sandbox launcher (env CRM_INTEGRATION_SANDBOX; default: beside this executable).")
    public var sandboxLauncher: String = Environment.string("CRM_INTEGRATION_SANDBOX") ?? ""

    @Option(name: .customLong("integration-plugin-user"), help: "uid:gid plugins run as when the service runs as root (env CRM_INTEGRATION_PLUGIN_USER).")
    public var pluginUser: String = Environment.string("CRM_INTEGRATION_PLUGIN_USER") ?? "65534:65534"

    public init() {}

    public static func fromEnvironment() throws -> IntegrationSettings { try parse([]) }

    public mutating func validate() throws {
        guard maxAttempts >= 1, maxAttempts <= 100 else { throw ValidationError("--integration-max-attempts must be 1…100") }
        guard backoffMilliseconds >= 1, backoffMaxMilliseconds >= backoffMilliseconds else {
            throw ValidationError("--integration-backoff-ms must be ≥ 1 and ≤ --integration-backoff-max-ms")
        }
        guard leaseMilliseconds >= 1000 else { throw ValidationError("--integration-lease-ms must be at least 1000") }
        guard pollMilliseconds >= 1, pollMilliseconds <= 10_000 else { throw ValidationError("--integration-poll-ms must be 1…10000") }
        guard workers >= 1, workers <= 10_000 else { throw ValidationError("--integration-workers must be 1…10000") }
        guard breakerThreshold >= 1, breakerCooldownMilliseconds >= 1 else { throw ValidationError("--integration-breaker-* must be ≥ 1") }
        guard tenantRatePerSecond >= 0 else { throw ValidationError("--integration-tenant-rate must be ≥ 0") }
        guard pluginUserIDs != nil else { throw ValidationError("--integration-plugin-user must be uid:gid, e.g. 65534:65534") }
    }

    public var retrySchedule: RetrySchedule {
        RetrySchedule(maxAttempts: maxAttempts, baseMilliseconds: backoffMilliseconds, capMilliseconds: backoffMaxMilliseconds)
    }

    var pluginUserIDs: (uid: UInt32, gid: UInt32)? {
        let parts = pluginUser.split(separator: ":").compactMap { UInt32($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }

    /// The longest timeout an endpoint may have: a call must end well inside its lease.
    public var maxEndpointTimeoutMilliseconds: Int { max(100, leaseMilliseconds - 1000) }
}
