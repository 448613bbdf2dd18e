/// When a failed call is tried again: exponential backoff with jitter, within a budget of attempts.
/// Attempt n (counting from 1) that failed transiently waits `base · 2^(n−1)`, capped at `cap`, less
/// up to `jitter` of it at random: calls that failed together spread out instead of retrying in step,
/// and the delays still grow from one attempt to the next.
public struct RetrySchedule: Sendable, Equatable {
    public var maxAttempts: Int
    public var baseMilliseconds: Int
    public var capMilliseconds: Int
    /// The fraction (0…1) of a delay that jitter may take off.
    public var jitter: Double

    public init(maxAttempts: Int = 5, baseMilliseconds: Int = 1000, capMilliseconds: Int = 300_000, jitter: Double = 0.25) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseMilliseconds = max(1, baseMilliseconds)
        self.capMilliseconds = max(self.baseMilliseconds, capMilliseconds)
        self.jitter = min(max(jitter, 0), 1)
    }

    /// The delay before the next attempt after attempt `attempt` failed transiently; nil when the budget is spent.
    /// `random` is a number in 0..<1 (injected so the rule is testable).
    public func delayMilliseconds(afterAttempt attempt: Int, random: Double) -> Int? {
        guard attempt < maxAttempts else { return nil }
        let exponent = min(max(attempt - 1, 0), 40)
        let full = min(Double(capMilliseconds), Double(baseMilliseconds) * Double(1 << UInt64(exponent)))
        return Int((full * (1 - jitter * min(max(random, 0), 1))).rounded())
    }
}
