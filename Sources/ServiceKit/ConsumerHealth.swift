import Synchronization

/// How a consumer loop is doing, for the health endpoints: the loop reports every turn.
public final class ConsumerHealth: Sendable {
    /// A loop that has not turned for this long is stuck (a batch in hand blocks it; Redis being away
    /// does not: the loop keeps turning, backing off).
    public static let stallLimit = Duration.seconds(120)

    private let origin = ContinuousClock.now
    /// Milliseconds after `origin` of the last turn; -1 before the first.
    private let lastTurn = Atomic<Int64>(-1)
    private let lastTurnReachedRedis = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)

    public init() {}

    /// One turn of the loop ended; `reachedRedis` is false when it failed on Redis.
    public func turned(reachedRedis: Bool) {
        let elapsed = ContinuousClock.now - origin
        lastTurn.store(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000, ordering: .relaxed)
        lastTurnReachedRedis.store(reachedRedis, ordering: .relaxed)
    }

    /// The service is shutting down: no longer ready.
    public func markStopping() { stopping.store(true, ordering: .relaxed) }

    /// Time since the last turn; nil before the first.
    public var sinceLastTurn: Duration? {
        let last = lastTurn.load(ordering: .relaxed)
        guard last >= 0 else { return nil }
        return (ContinuousClock.now - origin) - .milliseconds(last)
    }

    /// Alive unless the loop has turned before and has been stuck since.
    public var isAlive: Bool { sinceLastTurn.map { $0 < Self.stallLimit } ?? true }

    /// Ready when the loop turns, its last turn reached Redis, and it is not stopping.
    public var isReady: Bool {
        !stopping.load(ordering: .relaxed) && lastTurnReachedRedis.load(ordering: .relaxed) && isAlive && sinceLastTurn != nil
    }
}
