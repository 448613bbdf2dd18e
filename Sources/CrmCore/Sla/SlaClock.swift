/// Where an SLA stands.
public enum SlaStatus: String, Sendable, Hashable, Codable {
    case onTrack = "on_track"
    case atRisk = "at_risk"
    case breached
    case met
    case paused
}

/// How time is counted for an SLA: wall-clock time, or the working time of a calendar.
public struct SlaTimeline: Sendable {
    public let calendar: PreparedCalendar?
    public let zones: any TimeZoneRules

    public init(calendar: PreparedCalendar? = nil, zones: any TimeZoneRules = FixedOffsetZones()) {
        self.calendar = calendar
        self.zones = zones
    }

    public func adding(_ milliseconds: Int64, to start: Int64) throws(PreparedCalendar.CalendarError) -> Int64 {
        guard let calendar else { return start + milliseconds }
        return try calendar.adding(workMilliseconds: milliseconds, to: start, zones: zones)
    }

    public func elapsed(from: Int64, to: Int64) throws(PreparedCalendar.CalendarError) -> Int64 {
        guard let calendar else { return max(0, to - from) }
        return try calendar.workingMilliseconds(from: from, to: to, zones: zones)
    }
}

/// One SLA's clock on one record: started when the record entered the stage, paused while the
/// record waits on the customer, stopped when it leaves the stage. Pure: every instant is passed in.
public struct SlaClock: Sendable, Hashable, Codable {
    public let within: Int64
    public let warnAt: Double
    public let startedAt: Int64
    /// Counted time used by running spans that have ended (before the last pause).
    public private(set) var consumed: Int64
    /// When the current running span began; nil while paused or stopped.
    public private(set) var runningSince: Int64?
    public private(set) var outcome: SlaStatus?

    public init(within: Int64, warnAt: Double = SlaPolicy.defaultWarnAt, startedAt: Int64) {
        self.within = within
        self.warnAt = warnAt
        self.startedAt = startedAt
        self.consumed = 0
        self.runningSince = startedAt
        self.outcome = nil
    }

    /// The at-risk and breach instants while the clock runs; nil while paused or stopped.
    public struct Deadlines: Sendable, Hashable {
        public let atRisk: Int64
        public let breach: Int64
    }

    public var warningAfter: Int64 { Int64((Double(within) * warnAt).rounded()) }

    public func deadlines(on timeline: SlaTimeline) throws(PreparedCalendar.CalendarError) -> Deadlines? {
        guard outcome == nil, let since = runningSince else { return nil }
        return Deadlines(atRisk: try timeline.adding(max(0, warningAfter - consumed), to: since),
                         breach: try timeline.adding(max(0, within - consumed), to: since))
    }

    /// Counted time used by `now`.
    public func used(at now: Int64, on timeline: SlaTimeline) throws(PreparedCalendar.CalendarError) -> Int64 {
        guard let since = runningSince else { return consumed }
        return consumed + (try timeline.elapsed(from: since, to: max(since, now)))
    }

    public func status(at now: Int64, on timeline: SlaTimeline) throws(PreparedCalendar.CalendarError) -> SlaStatus {
        if let outcome { return outcome }
        let used = try used(at: now, on: timeline)
        if used >= within { return .breached }
        if runningSince == nil { return .paused }
        return used >= warningAfter ? .atRisk : .onTrack
    }

    /// Stops counting (the record waits on the customer). No effect unless running.
    public mutating func pause(at now: Int64, on timeline: SlaTimeline) throws(PreparedCalendar.CalendarError) {
        guard outcome == nil, runningSince != nil else { return }
        consumed = try used(at: now, on: timeline)
        runningSince = nil
    }

    /// Counts again from `now`: the deadlines move by the paused time. No effect unless paused.
    public mutating func resume(at now: Int64) {
        guard outcome == nil, runningSince == nil else { return }
        runningSince = now
    }

    /// The record left the stage: met if within the promise, else breached. Returns the outcome.
    @discardableResult
    public mutating func stop(at now: Int64, on timeline: SlaTimeline) throws(PreparedCalendar.CalendarError) -> SlaStatus {
        if let outcome { return outcome }
        let used = try used(at: now, on: timeline)
        consumed = used
        runningSince = nil
        let result: SlaStatus = used >= within ? .breached : .met
        outcome = result
        return result
    }
}
