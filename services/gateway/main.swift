import ArgumentParser
import GatewayService
import ServiceKit

@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Nexus CRM gateway: the HTTP API over the command streams; see services/gateway/README.md."
    )

    @OptionGroup var options: ServiceOptions

    @Option(name: .customLong("http-host"), help: "Address to listen on (env CRM_HTTP_HOST).")
    var httpHost: String = Environment.string("CRM_HTTP_HOST") ?? "127.0.0.1"

    @Option(name: .customLong("http-port"), help: "Port to listen on; 0 picks a free one (env CRM_HTTP_PORT).")
    var httpPort: Int = Environment.int("CRM_HTTP_PORT") ?? 8080

    @Option(name: .customLong("max-upload-bytes"), help: "Largest upload (an interaction's files); the command they make must still fit --max-envelope-bytes (env CRM_MAX_UPLOAD_BYTES).")
    var maxUploadBytes: Int = Environment.int("CRM_MAX_UPLOAD_BYTES") ?? 5 << 20

    @Option(name: .customLong("rate-limit-per-minute"), help: "Requests one API key may make per minute on this instance; 0 turns the limit off (env CRM_RATE_LIMIT_PER_MINUTE).")
    var rateLimitPerMinute: Int = Environment.int("CRM_RATE_LIMIT_PER_MINUTE") ?? 600

    @Option(name: .customLong("rate-limit-burst"), help: "Requests one API key may make at once above that pace (env CRM_RATE_LIMIT_BURST).")
    var rateLimitBurst: Int = Environment.int("CRM_RATE_LIMIT_BURST") ?? 100

    @Option(name: .customLong("outcome-wait-ms"), help: "How long a write waits for its outcome before answering 202 (env CRM_OUTCOME_WAIT_MS).")
    var outcomeWaitMilliseconds: Int = Environment.int("CRM_OUTCOME_WAIT_MS") ?? 10_000

    @Option(name: .customLong("health-max-lag"), help: "A consumer group further behind than this makes /healthz answer 503 (env CRM_HEALTH_MAX_LAG).")
    var healthMaxLag: Int = Environment.int("CRM_HEALTH_MAX_LAG") ?? 10_000

    @Option(name: .customLong("dashboard-refresh-s"), help: "How often the dashboard page refreshes itself, in seconds (env CRM_DASHBOARD_REFRESH_S).")
    var dashboardRefreshSeconds: Int = Environment.int("CRM_DASHBOARD_REFRESH_S") ?? 15

    func validate() throws {
        guard (0...65535).contains(httpPort) else { throw ValidationError("--http-port (CRM_HTTP_PORT) must be 0…65535") }
        guard maxUploadBytes >= 1 else { throw ValidationError("--max-upload-bytes (CRM_MAX_UPLOAD_BYTES) must be at least 1") }
        guard rateLimitPerMinute >= 0, rateLimitBurst >= 1 else { throw ValidationError("--rate-limit-per-minute must be 0 or more and --rate-limit-burst at least 1") }
        guard (1...60_000).contains(outcomeWaitMilliseconds) else { throw ValidationError("--outcome-wait-ms (CRM_OUTCOME_WAIT_MS) must be 1…60000") }
        guard (1...3600).contains(dashboardRefreshSeconds) else { throw ValidationError("--dashboard-refresh-s (CRM_DASHBOARD_REFRESH_S) must be 1…3600") }
        guard healthMaxLag >= 0 else { throw ValidationError("--health-max-lag (CRM_HEALTH_MAX_LAG) must be 0 or more") }
    }

    func run() async throws {
        let settings = GatewaySettings(maxEnvelopeBytes: options.maxEnvelopeBytes, maxUploadBytes: maxUploadBytes, rateLimitPerMinute: rateLimitPerMinute,
                                       rateLimitBurst: rateLimitBurst, outcomeWaitMilliseconds: outcomeWaitMilliseconds, maxHealthyLag: healthMaxLag,
                                       dashboardRefreshSeconds: dashboardRefreshSeconds)
        try await GatewayRunner.run(options: options, host: httpHost, port: httpPort, settings: settings)
    }
}
