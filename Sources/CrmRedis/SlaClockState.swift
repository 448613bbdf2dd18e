public import CrmCore

/// One record's SLA clock as sla-timer-service keeps it between events (for pause and resume, and
/// for `crmctl sla`), in the shard's `timers:clocks` hash.
public struct SlaClockState: Sendable, Hashable, Codable {
    public var tenant: String
    public var entity: String
    public var recordId: String
    public var policy: String
    public var stage: String
    public var within: String
    public var calendar: String?
    public var clock: SlaClock
    /// The breach instant last computed (while paused: the one before the pause).
    public var deadline: Int64
    public var onBreach: [BreachAction]

    public init(tenant: String, entity: String, recordId: String, policy: String, stage: String, within: String, calendar: String?, clock: SlaClock,
                deadline: Int64, onBreach: [BreachAction] = []) {
        self.tenant = tenant
        self.entity = entity
        self.recordId = recordId
        self.policy = policy
        self.stage = stage
        self.within = within
        self.calendar = calendar
        self.clock = clock
        self.deadline = deadline
        self.onBreach = onBreach
    }

    public static func field(tenant: String, entity: String, recordId: String, policy: String) -> String { "\(tenant):\(entity):\(recordId):\(policy)" }

    public var field: String { Self.field(tenant: tenant, entity: entity, recordId: recordId, policy: policy) }
}
