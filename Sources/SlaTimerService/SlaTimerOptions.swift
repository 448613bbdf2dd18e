public import ArgumentParser
import ServiceKit

/// sla-timer-service's own settings, beside the shared ones.
public struct SlaTimerOptions: ParsableArguments, Sendable {
    @Option(name: .customLong("timer-batch"), help: "Timers claimed and fired per shard per round (env CRM_TIMER_BATCH).")
    public var batch: Int = Environment.int("CRM_TIMER_BATCH") ?? 500

    @Option(name: .customLong("timer-lease-ms"), help: "How long a claimed timer is held before another consumer may take it over, in ms (env CRM_TIMER_LEASE_MS).")
    public var leaseMilliseconds: Int = Environment.int("CRM_TIMER_LEASE_MS") ?? 10_000

    @Option(name: .customLong("timer-poll-ms"), help: "Longest pause between looks for due timers scheduled by other replicas, in ms; this replica's own are looked at as soon as they are scheduled (env CRM_TIMER_POLL_MS).")
    public var pollMilliseconds: Int = Environment.int("CRM_TIMER_POLL_MS") ?? 50

    @Option(name: .customLong("timer-retention-s"), help: "How long fired and cancelled timers are remembered, in s (env CRM_TIMER_RETENTION_S).")
    public var retentionSeconds: Int = Environment.int("CRM_TIMER_RETENTION_S") ?? 7 * 86_400

    public init() {}

    /// The values, for the firing loop and the handler.
    public var settings: TimerSettings {
        TimerSettings(batch: batch, leaseMilliseconds: Int64(leaseMilliseconds), pollMilliseconds: Int64(pollMilliseconds),
                      retentionMilliseconds: Int64(retentionSeconds) * 1000)
    }

    public func validate() throws {
        guard batch >= 1, batch <= 5000 else { throw ValidationError("--timer-batch (CRM_TIMER_BATCH) must be 1…5000, not \(batch)") }
        guard leaseMilliseconds >= 100 else { throw ValidationError("--timer-lease-ms (CRM_TIMER_LEASE_MS) must be at least 100") }
        guard pollMilliseconds >= 1, pollMilliseconds <= 60_000 else { throw ValidationError("--timer-poll-ms (CRM_TIMER_POLL_MS) must be 1…60000") }
        guard retentionSeconds >= 60 else { throw ValidationError("--timer-retention-s (CRM_TIMER_RETENTION_S) must be at least 60") }
    }
}

/// How timers are claimed and fired (defaults as the options').
public struct TimerSettings: Sendable {
    public var batch: Int
    public var leaseMilliseconds: Int64
    public var pollMilliseconds: Int64
    public var retentionMilliseconds: Int64

    public init(batch: Int = 500, leaseMilliseconds: Int64 = 10_000, pollMilliseconds: Int64 = 50, retentionMilliseconds: Int64 = 7 * 86_400_000) {
        self.batch = batch
        self.leaseMilliseconds = leaseMilliseconds
        self.pollMilliseconds = pollMilliseconds
        self.retentionMilliseconds = retentionMilliseconds
    }
}
