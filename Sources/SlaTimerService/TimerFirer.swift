import Contracts
public import CrmCore
import CrmRedis
import Logging
import RedisClient
public import ServiceKit
public import ServiceLifecycle
import Synchronization

/// The firing loop: claims due timers of every shard in bounded batches under a lease, writes their
/// events and marks them fired in one script per batch. Runs beside the command consumer, on its own
/// Redis calls, so a flood of due timers never holds up commands, and a full batch is followed at
/// once by the next one (no sleep) so 10,000 timers due together drain in a few rounds.
public final class TimerFirer: Service, Sendable {
    let store: TimerStore
    let router: ShardRouter
    let clock: any WallClock
    let batch: Int
    let lease: Int64
    let poll: Int64
    let logger: Logger
    let wakeup: TimerWakeup
    private let stopping = Atomic<Bool>(false)

    public init(context: ServiceContext, settings: TimerSettings = TimerSettings(), wakeup: TimerWakeup = TimerWakeup(),
                clock: any WallClock = SystemWallClock()) {
        self.wakeup = wakeup
        self.store = TimerStore(pool: context.pool, retentionMilliseconds: settings.retentionMilliseconds)
        self.router = context.router
        self.clock = clock
        self.batch = settings.batch
        self.lease = settings.leaseMilliseconds
        self.poll = settings.pollMilliseconds
        self.logger = context.logger
    }

    public func run() async throws {
        logger.info("timer firing ready", metadata: ["crm.batch": "\(batch)", "crm.leaseMs": "\(lease)"])
        await withGracefulShutdownHandler {
            await self.loop()
        } onGracefulShutdown: {
            self.requestStop()
        }
    }

    public func requestStop() {
        stopping.store(true, ordering: .relaxed)
        wakeup.notify()
    }

    private func loop() async {
        var failures = 0
        while !stopping.load(ordering: .relaxed) {
            do {
                var wake = clock.nowMilliseconds() + poll
                var full = false
                for shard in router.allShards where !stopping.load(ordering: .relaxed) {
                    let round = try await fireDue(shard)
                    full = full || round.full
                    if let next = round.nextWake { wake = min(wake, next) }
                }
                failures = 0
                let pause = wake - clock.nowMilliseconds()
                if full || pause <= 0 {
                    await Task.yield()
                } else {
                    await wakeup.sleep(for: .milliseconds(pause))
                }
            } catch {
                failures += 1
                logger.warning("timer firing failed, backing off; claimed timers are taken over when their lease expires",
                               metadata: ["error": "\(error)", "crm.failures": "\(failures)"])
                try? await Task.sleep(for: .milliseconds(min(2000, 50 << min(failures, 5))))
            }
        }
    }

    /// Claims and fires one batch of a shard.
    func fireDue(_ shard: ShardKeys) async throws -> (full: Bool, nextWake: Int64?) {
        let claimed = try await store.claim(shard: shard, now: clock.nowMilliseconds(), leaseMilliseconds: lease, limit: batch)
        if claimed.reclaimed > 0 {
            logger.info("took over timers whose lease expired", metadata: ["crm.shard": "\(shard.shard)", "crm.count": "\(claimed.reclaimed)"])
        }
        if !claimed.unreadable.isEmpty {
            logger.error("timers with unreadable data dropped", metadata: ["crm.shard": "\(shard.shard)", "crm.members": "\(claimed.unreadable)"])
            try await store.discard(shard: shard, leaseExpiry: claimed.leaseExpiry, now: clock.nowMilliseconds(), members: claimed.unreadable)
        }
        guard !claimed.timers.isEmpty else { return (false, claimed.nextWake) }
        let now = clock.nowMilliseconds()
        let firings = claimed.timers.map { ($0, FiredEvents.events(for: $0, firedAt: now)) }
        let fired = try await store.complete(shard: shard, leaseExpiry: claimed.leaseExpiry, now: now, firings: firings)
        if fired < firings.count {
            logger.info("some claimed timers were cancelled or taken over before firing", metadata: ["crm.shard": "\(shard.shard)", "crm.skipped": "\(firings.count - fired)"])
        }
        return (claimed.timers.count + claimed.unreadable.count >= batch, claimed.nextWake)
    }
}
