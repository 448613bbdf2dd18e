/// A rate limit: `rate` tokens a second, at most `burst` saved up; a call takes one token.
public struct TokenBucket: Sendable, Equatable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var updatedAt: Int64

    public init(ratePerSecond: Double, now: Int64) {
        rate = ratePerSecond
        burst = max(1, ratePerSecond)
        tokens = burst
        updatedAt = now
    }

    /// Takes a token if there is one; otherwise says when there will be (ms since the epoch).
    public mutating func take(now: Int64) -> Int64? {
        tokens = min(burst, tokens + Double(max(0, now - updatedAt)) * rate / 1000)
        updatedAt = now
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return now + Int64(((1 - tokens) * 1000 / rate).rounded(.up))
    }
}
