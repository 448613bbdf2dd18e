@testable import GatewayService
import Synchronization
import Testing

@Suite("rate limits per API key (token buckets)")
struct RateLimiterTests {
    final class Clock: Sendable {
        let seconds = Mutex<Double>(1000)
        func advance(_ by: Double) { seconds.withLock { $0 += by } }
    }

    @Test("a burst is admitted, the next request waits for a token, Retry-After says how long; keys do not share")
    func bucket() {
        let clock = Clock()
        let limiter = RateLimiter(perMinute: 30, burst: 3) { clock.seconds.withLock { $0 } }
        #expect((0..<3).map { _ in limiter.admit("a") } == [nil, nil, nil])
        #expect(limiter.admit("a") == 2, "30 a minute is one every 2 s")
        #expect(limiter.admit("b") == nil, "another key has its own bucket")
        clock.advance(1)
        #expect(limiter.admit("a") == 1)
        clock.advance(1)
        #expect(limiter.admit("a") == nil)
        clock.advance(600)
        #expect((0..<4).map { _ in limiter.admit("a") } == [nil, nil, nil, 2], "an idle bucket refills to the burst, no further")
    }

    @Test("0 a minute turns the limit off")
    func disabled() {
        let limiter = RateLimiter(perMinute: 0, burst: 1)
        #expect((0..<100).allSatisfy { _ in limiter.admit("a") == nil })
    }
}
