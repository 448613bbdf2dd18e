public import Contracts
public import CrmCore
import CrmRedis
import Logging
import RedisClient
public import ServiceKit

/// sla-timer-service's consumer: `timer.schedule` and `timer.cancel` on `crm:{sN}:cmd:sla`, and, on
/// `crm:{sN}:events` in its own group, the record events that drive SLA clocks and escalation. Firing due
/// timers is `TimerFirer`'s job, beside this consumer.
public struct SlaTimerHandler: SingleMessageHandler {
    public let group = "sla"
    public let catalog = MessageCatalog.current.restricted(to: Set(MessageType.slaCommands + MessageType.events))
    let store: TimerStore
    let reactor: RecordReactor
    let policy: CommitPolicy
    let clock: any WallClock
    let wakeup: TimerWakeup
    let logger: Logger

    /// `wakeup` is shared with this process's `TimerFirer`, which looks at once at what this handler schedules.
    public init(context: ServiceContext, settings: TimerSettings = TimerSettings(), wakeup: TimerWakeup = TimerWakeup(),
                clock: any WallClock = SystemWallClock(), zones: any TimeZoneRules = SystemTimeZones()) {
        self.wakeup = wakeup
        let store = TimerStore(pool: context.pool, retentionMilliseconds: settings.retentionMilliseconds)
        let policy = context.options.commitPolicy
        self.store = store
        self.policy = policy
        self.clock = clock
        self.logger = context.logger
        self.reactor = RecordReactor(store: store, pool: context.pool, group: "sla", policy: policy,
                                     sla: SlaTracker(store: store, zones: zones, logger: context.logger),
                                     definitions: PublishedDefinitions(pool: context.pool))
    }

    public func streams(of shard: ShardKeys) -> [String] { [shard.commands(.sla), shard.events] }

    /// Commands on one timer, and events of one record, keep their order; the rest run concurrently.
    public func ordering(of message: InboundMessage) -> Ordering {
        let envelope = message.envelope
        if envelope.kind == .command {
            return Ordering(scope: envelope.tenant, key: "timer:\(envelope.payload["timerId"]?.stringValue ?? envelope.id)")
        }
        if let activity = RecordActivity.of(envelope) {
            return Ordering(scope: envelope.tenant, key: "record:\(activity.entity.rawValue):\(activity.recordID)")
        }
        return Ordering(scope: envelope.tenant, key: "event:\(envelope.id)")
    }

    public func handle(_ message: InboundMessage) async throws -> Bool {
        let envelope = message.envelope
        let onEvents = message.stream == message.shard.events
        switch (onEvents, envelope.kind) {
        case (true, .event):
            let acknowledged = try await reactor.react(to: message)
            if acknowledged { wakeup.notify() }
            return acknowledged
        case (false, .command):
            try await decideAndCommit(message)
            return true
        case (true, .command):
            throw PermanentFailure(reason: "wrong_stream", detail: "\(envelope.type) is a command; commands go to \(message.shard.commands(.sla)), not the events stream")
        case (false, .event):
            throw PermanentFailure(reason: "wrong_stream", detail: "\(envelope.type) is an event; events are written to \(message.shard.events) by the service that owns them")
        }
    }

    /// Decides the command against the timer's current state and commits, deciding again if the
    /// timer changed meanwhile (it fired, or another command touched it).
    private func decideAndCommit(_ message: InboundMessage) async throws {
        let command = message.envelope
        for _ in 1...8 {
            let now = clock.nowMilliseconds()
            let decision: TimerDecision
            do {
                decision = try await decide(command, shard: message.shard, now: now)
            } catch let rejection as Rejection {
                decision = TimerDecision(outcome: CommandOutcome.rejected(command, rejection))
            }
            switch try await store.commit(shard: message.shard, messageID: command.id, group: group, operations: decision.operations,
                                          events: decision.events, outcome: decision.outcome,
                                          acknowledging: (message.stream, message.entryID), now: now, policy: policy) {
            case .committed:
                if !decision.operations.isEmpty { wakeup.notify() }
                return
            case .replayed: return
            case .conflict(let member):
                logger.debug("timer changed while deciding, deciding again", metadata: ["crm.timer": "\(member)"])
            }
        }
        let rejection = Rejection(.conflict, "the timer kept changing while this command was applied; send it again")
        _ = try await store.commit(shard: message.shard, messageID: command.id, group: group, operations: [], events: [],
                                   outcome: CommandOutcome.rejected(command, rejection), acknowledging: (message.stream, message.entryID),
                                   now: clock.nowMilliseconds(), policy: policy)
    }

    private func decide(_ command: Envelope, shard: ShardKeys, now: Int64) async throws -> TimerDecision {
        switch command.type {
        case MessageType.timerSchedule:
            let request = try ScheduleRequest.read(command.payload)
            let state = try await store.state(shard: shard, tenant: command.tenant, timerID: request.timerID)
            return try TimerDecisions.schedule(command, request: request, state: state, now: now)
        case MessageType.timerCancel:
            let timerID = try CancelRequest.timerID(command.payload)
            let state = try await store.state(shard: shard, tenant: command.tenant, timerID: timerID)
            return try TimerDecisions.cancel(command, timerID: timerID, state: state, now: now)
        default:
            throw PermanentFailure(reason: "unknown_type", detail: "sla-timer-service does not handle \(command.type)")
        }
    }
}
