public import Contracts
import Foundation
public import Logging
public import RedisClient
public import ServiceLifecycle
import CoreMetrics
import Synchronization

/// How a consumer reads, claims and gives up.
public struct ConsumerSettings: Sendable {
    public var consumer: String
    public var batchSize: Int
    public var block: Duration
    public var claimIdle: Duration
    public var maxDeliveries: Int
    public var maxEnvelopeBytes: Int

    public init(consumer: String, batchSize: Int = 64, block: Duration = .seconds(1), claimIdle: Duration = .seconds(30),
                maxDeliveries: Int = 5, maxEnvelopeBytes: Int = EnvelopeReader.defaultMaxBytes) {
        self.consumer = consumer
        self.batchSize = batchSize
        self.block = block
        self.claimIdle = claimIdle
        self.maxDeliveries = maxDeliveries
        self.maxEnvelopeBytes = maxEnvelopeBytes
    }

    public init(_ options: ServiceOptions) {
        self.init(consumer: options.consumer, batchSize: options.batchSize, block: .milliseconds(options.blockMilliseconds),
                  claimIdle: .milliseconds(options.claimIdleMilliseconds), maxDeliveries: options.maxDeliveries,
                  maxEnvelopeBytes: options.maxEnvelopeBytes)
    }
}

/// The consumer-group loop of DESIGN §2: reads every shard's streams in one blocking XREADGROUP
/// (on a Redis Cluster the reader splits it into one read per shard slot, see `ClusterRouter`),
/// hands each checked envelope to the handler, acknowledges after the effect is committed, claims
/// entries left idle by crashed consumers, and parks what cannot be handled in the DLQ with a reason.
/// On graceful shutdown it stops reading, finishes the batch in hand, acknowledges it and returns.
public final class StreamConsumer: Service, Sendable {
    private let handler: any MessageHandler
    private let settings: ConsumerSettings
    private let router: ShardRouter
    private let pool: RedisPool
    private let reader: RedisConnection
    private let deadLetters: DeadLetterQueue
    private let envelopeReader: EnvelopeReader
    private let logger: Logger
    private let metrics: ServiceMetrics
    private let stopping = Atomic<Bool>(false)
    private let health: ConsumerHealth?
    /// Events this service does not react to, read but not yet acknowledged: acknowledged together
    /// every `ignoredAckInterval` (each XACK is a write, an fsync under `appendfsync always`, and
    /// every service reading the events stream would otherwise add one per event).
    private let ignoredUnacked = Mutex<[String: [String]]>([:])
    static let ignoredAckInterval = Duration.milliseconds(200)

    /// `health`, when given, hears of every turn of the loop (the health endpoints read it).
    public init(handler: any MessageHandler, settings: ConsumerSettings, router: ShardRouter, pool: RedisPool, logger: Logger, health: ConsumerHealth? = nil) {
        self.handler = handler
        self.health = health
        self.settings = settings
        self.router = router
        self.pool = pool
        // The blocking read needs its own connection whose socket timeout outlasts BLOCK.
        self.reader = RedisConnection(endpoint: pool.endpoint,
                                      options: RedisConnectionOptions(commandTimeout: settings.block + .seconds(5), clientName: "\(handler.group):\(settings.consumer):reader"),
                                      logger: logger)
        self.deadLetters = DeadLetterQueue(pool: pool, group: handler.group)
        self.envelopeReader = EnvelopeReader(maxBytes: settings.maxEnvelopeBytes)
        var logger = logger
        logger[metadataKey: "crm.consumer"] = "\(settings.consumer)"
        self.logger = logger
        self.metrics = ServiceMetrics(service: handler.group)
    }

    /// Every (shard, stream) this consumer reads.
    var subscriptions: [(shard: ShardKeys, stream: String)] {
        router.allShards.flatMap { shard in handler.streams(of: shard).map { (shard, $0) } }
    }

    public func run() async throws {
        let subscriptions = self.subscriptions
        try await createGroups(subscriptions.map(\.stream))
        logger.info("ready", metadata: ["crm.group": "\(handler.group)", "crm.streams": "\(subscriptions.count)"])
        await withGracefulShutdownHandler {
            await self.loop(subscriptions)
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            self.health?.markStopping()
        }
        try? await acknowledgeIgnored()
        await leaveGroups(subscriptions.map(\.stream))
        await reader.close()
        logger.info("stopped", metadata: ["crm.group": "\(handler.group)"])
    }

    /// Asks the loop to stop after the batch in hand (what SIGTERM does through the service group).
    public func requestStop() { stopping.store(true, ordering: .relaxed) }

    private func createGroups(_ streams: [String]) async throws {
        var attempt = 0
        while true {
            do {
                for stream in streams { try await reader.xgroupCreate(stream, group: handler.group, startID: "0") }
                return
            } catch let error as RedisError where error.isRetryable && !stopping.load(ordering: .relaxed) {
                attempt += 1
                health?.turned(reachedRedis: false)
                logger.warning("redis unavailable, retrying", metadata: ["error": "\(error)", "crm.attempt": "\(attempt)"])
                try await Task.sleep(for: Self.backoff(attempt))
            }
        }
    }

    /// Removes this consumer from its groups when it holds nothing pending, so `crmctl status`
    /// shows live consumers only; one that still holds entries stays for others to claim from.
    private func leaveGroups(_ streams: [String]) async {
        for stream in streams {
            guard let pending = try? await reader.xpending(stream, group: handler.group, count: 1, consumer: settings.consumer),
                  pending.isEmpty else { continue }
            _ = try? await reader.send("XGROUP", "DELCONSUMER", stream, handler.group, settings.consumer)
        }
    }

    private func loop(_ subscriptions: [(shard: ShardKeys, stream: String)]) async {
        let shardOf = Dictionary(subscriptions.map { ($0.stream, $0.shard) }, uniquingKeysWith: { first, _ in first })
        let streams = subscriptions.map(\.stream)
        let clock = ContinuousClock()
        // Sweep at once: a restarted consumer picks up what it or a crashed peer left pending.
        var nextClaim = clock.now
        var failures = 0
        // First re-read this consumer's own pending entries (same name after a restart), then new ones.
        var startID = "0"
        var nextIgnoredAck = clock.now + Self.ignoredAckInterval
        while !stopping.load(ordering: .relaxed) {
            do {
                if clock.now >= nextIgnoredAck {
                    try await acknowledgeIgnored()
                    nextIgnoredAck = clock.now + Self.ignoredAckInterval
                }
                if clock.now >= nextClaim {
                    for subscription in subscriptions { try await claimIdle(subscription.stream, shard: subscription.shard) }
                    nextClaim = clock.now + max(settings.claimIdle / 2, .milliseconds(50))
                }
                let wake = ignoredUnacked.withLock { $0.isEmpty } ? nextClaim : min(nextClaim, nextIgnoredAck)
                let block: Duration? = startID == ">" ? min(settings.block, max(wake - clock.now, .milliseconds(1))) : nil
                let batch = try await reader.xreadgroup(group: handler.group, consumer: settings.consumer, streams: streams,
                                                        count: settings.batchSize, block: block, startID: startID)
                if startID == "0", batch.allSatisfy({ $0.entries.isEmpty }) { startID = ">" }
                for (stream, entries) in batch where !entries.isEmpty {
                    guard let shard = shardOf[stream] else { continue }
                    try await process(entries, stream: stream, shard: shard, deliveries: [:])
                }
                failures = 0
                health?.turned(reachedRedis: true)
            } catch {
                failures += 1
                health?.turned(reachedRedis: false)
                logger.warning("consumer loop error, backing off", metadata: ["error": "\(error)", "crm.failures": "\(failures)"])
                try? await Task.sleep(for: Self.backoff(failures))
            }
        }
    }

    /// Claims entries idle past the threshold (their consumer crashed or is stuck) and handles them,
    /// parking those delivered too often.
    private func claimIdle(_ stream: String, shard: ShardKeys) async throws {
        var start = "0-0"
        for _ in 0..<100 {
            let result = try await reader.xautoclaim(stream, group: handler.group, consumer: settings.consumer,
                                                     minIdle: settings.claimIdle, start: start, count: settings.batchSize)
            if !result.entries.isEmpty {
                metrics.claimed.increment(by: result.entries.count)
                let pending = try await reader.xpending(stream, group: handler.group, start: result.entries.first!.id,
                                                        end: result.entries.last!.id, count: result.entries.count * 2, consumer: settings.consumer)
                let deliveries = Dictionary(pending.map { ($0.id, Int($0.deliveries)) }, uniquingKeysWith: max)
                logger.info("claimed idle entries", metadata: ["crm.stream": "\(stream)", "crm.count": "\(result.entries.count)"])
                try await process(result.entries, stream: stream, shard: shard, deliveries: deliveries)
            }
            if !result.deletedIDs.isEmpty {
                logger.warning("pending entries were deleted before being handled", metadata: ["crm.stream": "\(stream)", "crm.ids": "\(result.deletedIDs)"])
                try await acknowledge(stream, ids: result.deletedIDs)
            }
            start = result.nextStart
            if start == "0-0" || stopping.load(ordering: .relaxed) { return }
        }
    }

    /// Acknowledges the events read and ignored since the last time.
    private func acknowledgeIgnored() async throws {
        let due = ignoredUnacked.withLock { pending in
            defer { pending.removeAll() }
            return pending
        }
        for (stream, ids) in due where !ids.isEmpty {
            do {
                try await acknowledge(stream, ids: ids)
            } catch {
                ignoredUnacked.withLock { $0[stream, default: []] += ids }
                throw error
            }
        }
    }

    private func acknowledge(_ stream: String, ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await pool.send(StreamCommands.xack(stream, group: handler.group, ids: ids))
    }

    /// Checks each entry, parks what cannot be handled, runs the rest in lanes (concurrently across
    /// lanes, in order within one; barriers alone) and acknowledges what was handled, in one XACK.
    private func process(_ entries: [StreamEntry], stream: String, shard: ShardKeys, deliveries: [String: Int]) async throws {
        var messages: [(InboundMessage, Ordering)] = []
        var ignored: [String] = []
        for entry in entries {
            guard let message = await admit(entry, stream: stream, shard: shard, deliveries: deliveries[entry.id] ?? 1, ignored: &ignored) else { continue }
            messages.append((message, handler.ordering(of: message)))
        }
        if !ignored.isEmpty { ignoredUnacked.withLock { $0[stream, default: []] += ignored } }
        guard !messages.isEmpty else { return }
        let started = ContinuousClock.now
        var results: [(InboundMessage, MessageOutcome)] = []
        // A failure holds back what must follow it: later messages of its key, or of its whole scope
        // when it was a barrier (or when a barrier would follow it).
        var blockedKeys: Set<Ordering> = []
        var blockedScopes: Set<String> = []
        for segment in Self.segments(messages) {
            var lanes: [Ordering: [InboundMessage]] = [:]
            var laneOrder: [Ordering] = []
            for (message, ordering) in segment {
                if blockedScopes.contains(ordering.scope) || blockedKeys.contains(ordering)
                    || (ordering.key == nil && blockedKeys.contains(.barrier(ordering.scope))) {
                    results.append((message, .failed(HeldBack(entryID: message.entryID))))
                    continue
                }
                if lanes[ordering] == nil { laneOrder.append(ordering) }
                lanes[ordering, default: []].append(message)
            }
            let handler = self.handler
            let segmentResults = await withTaskGroup(of: [(InboundMessage, MessageOutcome, Ordering)].self) { group in
                for ordering in laneOrder {
                    let lane = lanes[ordering]!
                    group.addTask { zip(lane, await Self.handle(lane, with: handler)).map { ($0.0, $0.1, ordering) } }
                }
                var all: [(InboundMessage, MessageOutcome, Ordering)] = []
                for await part in group { all += part }
                return all
            }
            for (message, outcome, ordering) in segmentResults {
                if case .failed = outcome {
                    if ordering.key == nil { blockedScopes.insert(ordering.scope) } else { blockedKeys.insert(ordering) }
                    // Scope-wide followers (barriers) must not overtake it either.
                    blockedKeys.insert(.barrier(ordering.scope))
                }
                results.append((message, outcome))
            }
        }
        var acks: [String] = []
        for (message, outcome) in results {
            switch outcome {
            case .handled:
                metrics.handled.increment()
                acks.append(message.entryID)
            case .handledAndAcknowledged:
                metrics.handled.increment()
            case .rejected(let failure):
                await park(message.raw, failure.reason, failure.detail, stream: stream, entryID: message.entryID,
                           deliveries: deliveries[message.entryID] ?? 1, shard: shard)
            case .failed(let error):
                metrics.retried.increment()
                logger.warning("handling failed; the entry stays pending and will be retried", metadata: [
                    "crm.stream": "\(stream)", "crm.entry": "\(message.entryID)", "crm.type": "\(message.envelope.type)",
                    "crm.deliveries": "\(deliveries[message.entryID] ?? 1)", "error": "\(error)",
                ])
            }
        }
        metrics.handlingTime.recordNanoseconds(Int64((ContinuousClock.now - started).seconds * 1e9))
        try await acknowledge(stream, ids: acks)
    }

    /// Runs a lane; when Redis was briefly unreachable (a restart, a stale pooled connection), runs
    /// the rest of the lane again after a short pause rather than leaving it to the claim sweep.
    /// Safe because every handler's commit is idempotent.
    static func handle(_ lane: [InboundMessage], with handler: any MessageHandler, attempts: Int = 4) async -> [MessageOutcome] {
        var outcomes = await handler.handle(lane: lane)
        for attempt in 1..<attempts {
            guard let first = outcomes.firstIndex(where: { outcome in
                if case .failed(let error) = outcome { return (error as? RedisError)?.isRetryable == true }
                return false
            }) else { break }
            try? await Task.sleep(for: backoff(attempt))
            outcomes = Array(outcomes[..<first]) + (await handler.handle(lane: Array(lane[first...])))
        }
        return outcomes
    }

    /// Splits a batch at barriers: each barrier is a segment of its own, between the runs around it.
    static func segments(_ messages: [(InboundMessage, Ordering)]) -> [[(InboundMessage, Ordering)]] {
        var segments: [[(InboundMessage, Ordering)]] = [[]]
        for item in messages {
            if item.1.key == nil {
                if !segments[segments.count - 1].isEmpty { segments.append([]) }
                segments[segments.count - 1].append(item)
                segments.append([])
            } else {
                segments[segments.count - 1].append(item)
            }
        }
        return segments.filter { !$0.isEmpty }
    }

    /// Reads and checks one entry; parks it (and returns nil) when it cannot be handled.
    /// On the events stream, a service reacts to some types only: the others are acknowledged (added
    /// to `ignored`), not parked.
    private func admit(_ entry: StreamEntry, stream: String, shard: ShardKeys, deliveries: Int, ignored: inout [String]) async -> InboundMessage? {
        let raw = entry.field("envelope") ?? []
        guard entry.field("envelope") != nil else {
            await park(raw, "invalid_envelope", "the entry has no 'envelope' field", stream: stream, entryID: entry.id, deliveries: deliveries, shard: shard)
            return nil
        }
        if deliveries > settings.maxDeliveries {
            await park(raw, "max_deliveries", "delivered \(deliveries) times without success (limit \(settings.maxDeliveries)); the consumers' logs hold each error",
                       stream: stream, entryID: entry.id, deliveries: deliveries, shard: shard)
            return nil
        }
        do throws(EnvelopeError) {
            let read = try envelopeReader.read(raw)
            if stream == shard.events, read.kind == .event, !handler.catalog.knows(read.type) {
                ignored.append(entry.id)
                return nil
            }
            let envelope = try handler.catalog.accept(read, consumer: handler.group)
            let owner = router.shard(forTenant: envelope.tenant)
            guard owner == shard.shard else { throw EnvelopeError.wrongShard(tenant: envelope.tenant, expected: owner, actual: shard.shard) }
            return InboundMessage(envelope: envelope, raw: raw, stream: stream, entryID: entry.id, shard: shard, group: handler.group)
        } catch {
            await park(raw, error.reason, error.description, stream: stream, entryID: entry.id, deliveries: deliveries, shard: shard)
            return nil
        }
    }

    /// Parks an entry in the DLQ; the park script acknowledges it. If even that fails, it stays pending.
    private func park(_ raw: [UInt8], _ reason: String, _ detail: String, stream: String, entryID: String, deliveries: Int, shard: ShardKeys) async {
        do {
            try await deadLetters.park(raw: raw, reason: reason, detail: detail, source: stream, entryID: entryID, deliveries: deliveries, shard: shard)
            metrics.deadLettered.increment()
            logger.warning("entry sent to the DLQ", metadata: ["crm.stream": "\(stream)", "crm.entry": "\(entryID)", "crm.reason": "\(reason)", "crm.detail": "\(detail)"])
        } catch {
            logger.error("could not park an entry in the DLQ; it stays pending", metadata: ["crm.entry": "\(entryID)", "error": "\(error)"])
        }
    }

    static func backoff(_ attempt: Int) -> Duration {
        let base = Duration.milliseconds(50) * (1 << min(attempt, 6))
        return min(base, .seconds(2)) * Double.random(in: 0.5...1)
    }
}

/// A message not tried because an earlier one it must follow failed; it is retried with it.
struct HeldBack: Error, CustomStringConvertible {
    let entryID: String
    var description: String { "held back behind an earlier message of the same record or scope that failed" }
}
