/// The keys of the durable timers of one shard (sla-timer-service). A timer is named in them by its
/// member `<tenant>:<timer id>`; tenants hold no ':' so the member splits at the first one.
extension ShardKeys {
    /// Sorted set of pending timers, scored by due time (ms since the epoch).
    public var timersDue: String { "crm:\(tag):timers:due" }
    /// Sorted set of timers claimed by a consumer, scored by the lease's expiry (ms).
    public var timersLeased: String { "crm:\(tag):timers:leased" }
    /// Hash member → the timer as JSON, with its status (pending, fired, cancelled).
    public var timersData: String { "crm:\(tag):timers:data" }
    /// Sorted set of fired and cancelled timers, scored by when that happened, so their status is
    /// remembered for a while (a cancel can say "fired at …") and then pruned.
    public var timersDone: String { "crm:\(tag):timers:done" }
    /// Hash of running and paused SLA clocks: `<tenant>:<entity>:<id>:<policy>` → JSON.
    public var slaClocks: String { "crm:\(tag):timers:clocks" }
}

/// A timer's member in the shard's timer keys.
public enum TimerMember {
    public static func make(tenant: String, timerID: String) -> String { "\(tenant):\(timerID)" }

    public static func split(_ member: String) -> (tenant: String, timerID: String)? {
        guard let colon = member.firstIndex(of: ":") else { return nil }
        return (String(member[..<colon]), String(member[member.index(after: colon)...]))
    }
}
