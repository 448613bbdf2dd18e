public import Contracts
import Foundation
import Synchronization
public import Logging
public import RedisClient
public import ServiceLifecycle

/// Makes the calls (REL-CRM-0409, SEC-CRM-0423). Every `pollMilliseconds` it leases the due calls of
/// each shard (as many as it has free workers) and makes each in a task of its own; the result is
/// recorded atomically: a success or a final failure is reported once, a transient failure goes back
/// into the due set after its backoff, a call the gate holds back is deferred. A worker killed
/// mid-call leaves its call leased: it comes due again when the lease ends, with the same idempotency key.
public final class CallRunner: Service, Sendable {
    private let store: CallStore
    private let router: ShardRouter
    private let settings: IntegrationSettings
    private let schedule: RetrySchedule
    public let gate: EndpointGate
    private let webhook = WebhookCaller()
    private let email = EmailCaller()
    private let plugins: PluginCaller
    private let logger: Logger
    private let inFlight = InFlightCounter()

    public init(pool: RedisPool, router: ShardRouter, settings: IntegrationSettings, logger: Logger, finishedTTLSeconds: Int = 7 * 24 * 3600) {
        self.store = CallStore(pool: pool, finishedTTLSeconds: finishedTTLSeconds)
        self.router = router
        self.settings = settings
        self.schedule = settings.retrySchedule
        self.plugins = PluginCaller(settings: settings)
        self.gate = EndpointGate(breakerThreshold: settings.breakerThreshold, breakerCooldownMilliseconds: settings.breakerCooldownMilliseconds,
                                 tenantRatePerSecond: settings.tenantRatePerSecond)
        self.logger = logger
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            // On SIGTERM: take no new calls; the calls in flight finish (each within its timeout).
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                for shard in router.allShards {
                    let free = settings.workers - inFlight.value
                    guard free > 0 else { break }
                    let claimed: [(member: String, attempt: Int)]
                    do {
                        claimed = try await store.claim(shard: shard, now: Clock.milliseconds(), leaseMilliseconds: settings.leaseMilliseconds, limit: free)
                    } catch {
                        logger.warning("could not claim due calls", metadata: ["crm.shard": "\(shard.shard)", "error": "\(error)"])
                        continue
                    }
                    for (member, attempt) in claimed {
                        inFlight.add(1)
                        group.addTask {
                            await self.attempt(shard: shard, member: member, attempt: attempt)
                            self.inFlight.add(-1)
                        }
                    }
                }
                try? await Task.sleep(for: .milliseconds(settings.pollMilliseconds))
            }
        }
        logger.info("call runner stopped")
    }

    /// One attempt of one leased call, start to finish. Errors talking to Redis leave the call leased:
    /// it comes due again when the lease ends.
    func attempt(shard: ShardKeys, member: String, attempt: Int) async {
        do {
            guard let (call, command) = try await store.load(shard: shard, member: member) else { return }
            guard let config = try await store.config(shard: shard, tenant: call.tenant, name: call.integration) else {
                try await fail(call, command: command, shard: shard, attempt: attempt,
                               failure: .permanent("the tenant has no integration '\(call.integration)' any more"))
                return
            }
            let now = Clock.milliseconds()
            if case .deferUntil(let until, let why) = gate.admit(tenant: call.tenant, config: config, now: now) {
                logger.debug("call deferred", metadata: ["crm.call": "\(call.callId)", "crm.reason": "\(why)"])
                try await store.finish(shard: shard, member: member, attempt: attempt, verdict: .deferred(dueAt: max(until, now + 1)))
                return
            }
            let result: Result<JSONValue?, CallFailure>
            switch config.kind {
            case .webhook: result = await webhook.call(call, config: config, attempt: attempt)
            case .plugin: result = await plugins.call(call, config: config, attempt: attempt)
            case .email: result = await email.call(call, config: config)
            }
            let kind: CallResultKind
            switch result {
            case .success: kind = .success
            case .failure(let failure): kind = failure.retryable ? .transientFailure : .permanentFailure
            }
            gate.release(tenant: call.tenant, name: config.name, result: kind, now: Clock.milliseconds())
            switch result {
            case .success(let output):
                let reported = try await store.finish(shard: shard, member: member, attempt: attempt,
                                                      verdict: .succeeded(event: CallEvents.succeeded(call, attempts: attempt, output: output)))
                logger.info("call succeeded", metadata: ["crm.call": "\(call.callId)", "crm.attempt": "\(attempt)", "crm.reported": "\(reported)"])
            case .failure(let failure):
                if failure.retryable, let delay = schedule.delayMilliseconds(afterAttempt: attempt, random: Double.random(in: 0..<1)) {
                    logger.info("call failed, will retry", metadata: ["crm.call": "\(call.callId)", "crm.attempt": "\(attempt)",
                                                                      "crm.delay_ms": "\(delay)", "error": "\(failure.reason)"])
                    try await store.finish(shard: shard, member: member, attempt: attempt,
                                           verdict: .retry(dueAt: Clock.milliseconds() + Int64(delay), error: failure.reason))
                } else {
                    try await fail(call, command: command, shard: shard, attempt: attempt, failure: failure)
                }
            }
        } catch {
            logger.warning("call attempt not recorded; it is retried when its lease ends", metadata: ["crm.call": "\(member)", "error": "\(error)"])
        }
    }

    /// Reports a call given up: `integration.failed`, and for an invoke a DLQ entry with the command.
    /// A failed compensation is only reported: the saga coordinator sends it again itself.
    private func fail(_ call: CallDocument, command: [UInt8], shard: ShardKeys, attempt: Int, failure: CallFailure) async throws {
        let event = CallEvents.failed(call, attempts: attempt, failure: failure)
        var deadLetter: [(String, [UInt8])]?
        if call.operation == .invoke {
            let detail = "\(call.integration) call \(call.callId) failed after \(attempt) attempt(s): \(failure.description)"
            deadLetter = [
                ("envelope", command), ("reason", Array((failure.retryable ? "integration_retries_exhausted" : "integration_failed").utf8)),
                ("detail", Array(detail.utf8)), ("source", Array(call.commandStream.utf8)), ("group", Array(IntegrationCommands.group.utf8)),
                ("entryId", Array(call.commandEntryId.utf8)), ("deliveries", Array(String(attempt).utf8)), ("failedAt", Array(Envelope.timestamp().utf8)),
            ]
        }
        let reported = try await store.finish(shard: shard, member: call.member, attempt: attempt,
                                              verdict: .failed(event: event, error: failure.reason, deadLetter: deadLetter))
        logger.warning("call failed for good", metadata: ["crm.call": "\(call.callId)", "crm.attempt": "\(attempt)", "error": "\(failure.description)",
                                                          "crm.reported": "\(reported)"])
    }
}

/// The number of calls this process has in flight.
final class InFlightCounter: Sendable {
    private let count = Mutex<Int>(0)
    var value: Int { count.withLock { $0 } }
    func add(_ delta: Int) { count.withLock { $0 += delta } }
}
