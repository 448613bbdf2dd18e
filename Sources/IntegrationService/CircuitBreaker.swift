/// One endpoint's circuit breaker. After `threshold` transient failures in a row it opens: calls to
/// the endpoint wait (they are not attempted, and spend none of their budget) until `cooldown` has
/// passed; then one trial call goes through (half-open). Its success closes the breaker, its failure
/// opens it again. A down endpoint so costs one call per cooldown, not a timeout per call.
public struct CircuitBreaker: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        case closed, open, halfOpen = "half_open"
    }

    public let threshold: Int
    public let cooldownMilliseconds: Int
    public private(set) var state: State = .closed
    public private(set) var consecutiveFailures = 0
    /// When an open breaker lets a trial call through (ms since the epoch).
    public private(set) var openUntil: Int64 = 0
    private var trialInFlight = false

    public init(threshold: Int = 5, cooldownMilliseconds: Int = 30_000) {
        self.threshold = max(1, threshold)
        self.cooldownMilliseconds = max(1, cooldownMilliseconds)
    }

    /// What a call may do now.
    public enum Admission: Sendable, Equatable {
        case proceed
        /// Not now: try again at this time (ms since the epoch).
        case waitUntil(Int64)
    }

    /// Asks to make a call at `now`; a granted half-open trial must be followed by `record`.
    public mutating func admit(now: Int64) -> Admission {
        switch state {
        case .closed:
            return .proceed
        case .open:
            guard now >= openUntil else { return .waitUntil(openUntil) }
            state = .halfOpen
            trialInFlight = true
            return .proceed
        case .halfOpen:
            if trialInFlight { return .waitUntil(now + Int64(min(cooldownMilliseconds, 1000))) }
            trialInFlight = true
            return .proceed
        }
    }

    /// Records how a call ended. Permanent failures (4xx, bad input) say nothing about the endpoint's health.
    public mutating func record(_ result: CallResultKind, now: Int64) {
        switch result {
        case .success:
            state = .closed
            consecutiveFailures = 0
            trialInFlight = false
        case .permanentFailure:
            if state == .halfOpen {
                state = .closed
                trialInFlight = false
            }
        case .transientFailure:
            consecutiveFailures += 1
            if state == .halfOpen || consecutiveFailures >= threshold {
                state = .open
                openUntil = now + Int64(cooldownMilliseconds)
                trialInFlight = false
            }
        }
    }
}

/// How a call ended, as far as the endpoint's health goes.
public enum CallResultKind: Sendable, Equatable {
    case success, transientFailure, permanentFailure
}
