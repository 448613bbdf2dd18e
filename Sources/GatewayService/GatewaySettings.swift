public import Contracts

/// The gateway's limits, from its flags or environment (services/gateway/README.md lists them).
public struct GatewaySettings: Sendable {
    /// The largest command envelope `POST /v1/commands` takes.
    public var maxEnvelopeBytes: Int
    /// The largest upload (a multipart interaction with its files, or any other request body).
    public var maxUploadBytes: Int
    /// Requests one API key may make per minute, and how many at once above that pace; 0 turns the limit off.
    public var rateLimitPerMinute: Int
    public var rateLimitBurst: Int
    /// How long a write waits for its outcome before answering 202 with the command id.
    public var outcomeWaitMilliseconds: Int
    /// A consumer group further behind than this many entries makes `/healthz` answer 503.
    public var maxHealthyLag: Int
    /// How often the dashboard page refreshes its panel.
    public var dashboardRefreshSeconds: Int

    public init(maxEnvelopeBytes: Int = EnvelopeReader.defaultMaxBytes, maxUploadBytes: Int = 5 << 20, rateLimitPerMinute: Int = 600,
                rateLimitBurst: Int = 100, outcomeWaitMilliseconds: Int = 10_000, maxHealthyLag: Int = 10_000, dashboardRefreshSeconds: Int = 15) {
        self.maxEnvelopeBytes = maxEnvelopeBytes
        self.maxUploadBytes = maxUploadBytes
        self.rateLimitPerMinute = rateLimitPerMinute
        self.rateLimitBurst = rateLimitBurst
        self.outcomeWaitMilliseconds = outcomeWaitMilliseconds
        self.maxHealthyLag = maxHealthyLag
        self.dashboardRefreshSeconds = dashboardRefreshSeconds
    }
}
