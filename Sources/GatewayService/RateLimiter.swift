import Foundation
import Synchronization

/// Requests per API key (a token bucket each): `perMinute` on average, `burst` at once. Kept in
/// the process, so each gateway instance limits on its own (N instances admit up to N × the rate).
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    let perMinute: Int
    let burst: Int
    private let buckets = Mutex<[String: Bucket]>([:])
    private let now: @Sendable () -> Double

    init(perMinute: Int, burst: Int, now: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }) {
        self.perMinute = perMinute
        self.burst = max(burst, 1)
        self.now = now
    }

    var enabled: Bool { perMinute > 0 }

    /// Takes one request from `key`'s bucket: nil when admitted, else the seconds until one is.
    func admit(_ key: String) -> Int? {
        guard enabled else { return nil }
        let rate = Double(perMinute) / 60
        let time = now()
        return buckets.withLock { buckets in
            // Idle keys' buckets are full again; dropping them keeps the table small.
            if buckets.count > 10_000 {
                buckets = buckets.filter { (time - $0.value.updated) * rate + $0.value.tokens < Double(burst) }
            }
            var bucket = buckets[key] ?? Bucket(tokens: Double(burst), updated: time)
            bucket.tokens = min(Double(burst), bucket.tokens + (time - bucket.updated) * rate)
            bucket.updated = time
            defer { buckets[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
        }
    }
}
