public import Contracts
public import CrmCore

/// A durable timer as stored in the shard's `timers:data` hash.
public struct TimerRecord: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable {
        case pending, fired, cancelled
    }

    /// What an SLA timer stands for: the moment an SLA of a record becomes at risk, or is breached.
    public struct SlaMark: Sendable, Hashable, Codable {
        public enum Phase: String, Sendable, Hashable, Codable {
            case atRisk = "at_risk"
            case breach
        }

        public var entity: String
        public var recordId: String
        public var policy: String
        public var stage: String
        public var phase: Phase
        public var startedAt: Int64
        public var deadline: Int64
        public var within: String
        /// The policy's breach actions, carried in `sla.breached`.
        public var onBreach: [BreachAction]?

        public init(entity: String, recordId: String, policy: String, stage: String, phase: Phase, startedAt: Int64, deadline: Int64, within: String,
                    onBreach: [BreachAction]? = nil) {
            self.entity = entity
            self.recordId = recordId
            self.policy = policy
            self.stage = stage
            self.phase = phase
            self.startedAt = startedAt
            self.deadline = deadline
            self.within = within
            self.onBreach = onBreach
        }
    }

    /// What an escalation timer stands for: a level of a stale record's escalation.
    public struct EscalationMark: Sendable, Hashable, Codable {
        public var entity: String
        public var recordId: String
        public var level: Int
        public var action: String
        public var to: String
        public var from: String
        public var after: String
        public var lastActivityAt: Int64

        public init(entity: String, recordId: String, level: Int, action: String, to: String, from: String, after: String, lastActivityAt: Int64) {
            self.entity = entity
            self.recordId = recordId
            self.level = level
            self.action = action
            self.to = to
            self.from = from
            self.after = after
            self.lastActivityAt = lastActivityAt
        }
    }

    public var tenant: String
    public var timerId: String
    /// Due time, ms since the epoch.
    public var dueAt: Int64
    public var status: Status
    public var scheduledAt: Int64
    /// When it fired or was cancelled.
    public var doneAt: Int64?
    public var actor: String
    public var correlationId: String
    /// The message that scheduled it.
    public var causationId: String
    /// The client's data, handed back in `timer.fired`.
    public var data: JSONValue?
    /// Set for the timers sla-timer-service schedules for SLA clocks.
    public var sla: SlaMark?
    /// Set for the timers of stale-record escalation.
    public var escalation: EscalationMark?

    public init(tenant: String, timerId: String, dueAt: Int64, status: Status = .pending, scheduledAt: Int64, doneAt: Int64? = nil,
                actor: String, correlationId: String, causationId: String, data: JSONValue? = nil, sla: SlaMark? = nil,
                escalation: EscalationMark? = nil) {
        self.tenant = tenant
        self.timerId = timerId
        self.dueAt = dueAt
        self.status = status
        self.scheduledAt = scheduledAt
        self.doneAt = doneAt
        self.actor = actor
        self.correlationId = correlationId
        self.causationId = causationId
        self.data = data
        self.sla = sla
        self.escalation = escalation
    }

    public var member: String { TimerMember.make(tenant: tenant, timerID: timerId) }

    /// The record marked done (fired or cancelled) at `instant`.
    public func done(_ status: Status, at instant: Int64) -> TimerRecord {
        var copy = self
        copy.status = status
        copy.doneAt = instant
        return copy
    }
}
