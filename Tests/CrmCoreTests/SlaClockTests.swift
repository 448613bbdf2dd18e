import CrmCore
import Testing

/// FUN-CRM-0286, USE-CRM-0560: SLA clocks on business-hours calendars, with an injected clock (every
/// instant is passed in) and injected time-zone rules.
@Suite("SLA clocks and business calendars")
struct SlaClockTests {
    static func at(_ text: String) -> Int64 { TimerDue.instant(text)! }

    let weekdays = BusinessCalendar(timeZone: "UTC", days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "17:00").prepared()!
    let fourHours: Int64 = 4 * 3_600_000

    var business: SlaTimeline { SlaTimeline(calendar: weekdays) }

    @Test("a lead created Friday 17:00 with a 4-business-hour SLA, Mon–Fri 9–17: at risk Monday 12:12, breached Monday 13:00")
    func fridayEvening() throws {
        let created = Self.at("2026-11-27T17:00:00Z")
        let clock = SlaClock(within: fourHours, warnAt: 0.8, startedAt: created)
        let deadlines = try #require(try clock.deadlines(on: business))
        #expect(InstantText.rfc3339(milliseconds: deadlines.atRisk) == "2026-11-30T12:12:00.000Z")
        #expect(InstantText.rfc3339(milliseconds: deadlines.breach) == "2026-11-30T13:00:00.000Z")
        #expect(try clock.status(at: Self.at("2026-11-29T23:59:59Z"), on: business) == .onTrack, "the weekend does not count")
        #expect(try clock.status(at: Self.at("2026-11-30T12:11:59Z"), on: business) == .onTrack)
        #expect(try clock.status(at: Self.at("2026-11-30T12:12:00Z"), on: business) == .atRisk)
        #expect(try clock.status(at: Self.at("2026-11-30T12:59:59Z"), on: business) == .atRisk)
        #expect(try clock.status(at: Self.at("2026-11-30T13:00:00Z"), on: business) == .breached)
    }

    @Test("the calendar's time zone and holidays move the deadline")
    func zoneAndHolidays() throws {
        var calendar = BusinessCalendar(timeZone: "+01:00", days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "17:00",
                                        holidays: ["2026-11-30"])
        let timeline = SlaTimeline(calendar: try #require(calendar.prepared()), zones: FixedOffsetZones())
        // Friday 17:00 local is 16:00Z; Monday is a holiday; Tuesday 13:00 local is 12:00Z.
        let clock = SlaClock(within: fourHours, startedAt: Self.at("2026-11-27T16:00:00Z"))
        #expect(try clock.deadlines(on: timeline)?.breach == Self.at("2026-12-01T12:00:00Z"))
        calendar.holidays = []
        let noHoliday = SlaTimeline(calendar: try #require(calendar.prepared()), zones: FixedOffsetZones())
        #expect(try clock.deadlines(on: noHoliday)?.breach == Self.at("2026-11-30T12:00:00Z"))
    }

    @Test("a start inside working hours counts the rest of the day first, then the next working day")
    func spansDays() throws {
        let clock = SlaClock(within: fourHours, startedAt: Self.at("2026-11-26T15:30:00Z"))
        #expect(try clock.deadlines(on: business)?.breach == Self.at("2026-11-27T11:30:00Z"))
        let wallClock = SlaClock(within: fourHours, startedAt: Self.at("2026-11-26T15:30:00Z"))
        #expect(try wallClock.deadlines(on: SlaTimeline())?.breach == Self.at("2026-11-26T19:30:00Z"), "without a calendar every hour counts")
    }

    @Test("pause and resume shift the deadline by the paused working time")
    func pauseResume() throws {
        var clock = SlaClock(within: fourHours, startedAt: Self.at("2026-11-30T09:00:00Z"))
        #expect(try clock.deadlines(on: business)?.breach == Self.at("2026-11-30T13:00:00Z"))
        try clock.pause(at: Self.at("2026-11-30T10:00:00Z"), on: business)
        #expect(try clock.deadlines(on: business) == nil, "a paused clock has no deadline")
        #expect(try clock.status(at: Self.at("2026-11-30T16:00:00Z"), on: business) == .paused)
        clock.resume(at: Self.at("2026-11-30T14:00:00Z"))
        let deadlines = try #require(try clock.deadlines(on: business))
        #expect(deadlines.breach == Self.at("2026-11-30T17:00:00Z"), "one hour used, three left from 14:00")
        #expect(deadlines.atRisk == Self.at("2026-11-30T16:12:00Z"), "80 % = 3 h 12 min used: 2 h 12 min after 14:00")
    }

    @Test("leaving the stage before the deadline is met, after it breached; the outcome then stays")
    func stop() throws {
        var early = SlaClock(within: fourHours, startedAt: Self.at("2026-11-27T17:00:00Z"))
        #expect(try early.stop(at: Self.at("2026-11-30T10:30:00Z"), on: business) == .met)
        #expect(try early.status(at: Self.at("2026-12-31T00:00:00Z"), on: business) == .met, "no breach after a response in time")
        #expect(try early.deadlines(on: business) == nil)
        var late = SlaClock(within: fourHours, startedAt: Self.at("2026-11-27T17:00:00Z"))
        #expect(try late.stop(at: Self.at("2026-11-30T13:00:01Z"), on: business) == .breached)
    }

    @Test("a calendar with no working time in reach is an error, not an endless loop")
    func noWorkingTime() throws {
        let allHolidays = BusinessCalendar(days: ["mon"], holidays: (0..<200).map { week in
            InstantText.rfc3339(milliseconds: Self.at("2026-11-30T00:00:00Z") + Int64(week) * 7 * 86_400_000).prefix(10).description
        }).prepared()!
        let clock = SlaClock(within: fourHours, startedAt: Self.at("2026-11-27T17:00:00Z"))
        #expect(throws: PreparedCalendar.CalendarError.self) { try clock.deadlines(on: SlaTimeline(calendar: allHolidays)) }
        #expect(throws: PreparedCalendar.CalendarError.unknownTimeZone("Mars/Olympus")) {
            try clock.deadlines(on: SlaTimeline(calendar: BusinessCalendar(timeZone: "Mars/Olympus").prepared()!, zones: FixedOffsetZones()))
        }
    }
}

/// FUN-CRM-0286: SLA policies in a definition are checked at publish with the path of each problem.
@Suite("SLA policies in definitions")
struct SlaDefinitionTests {
    func definition(sla: [SlaPolicy], calendars: [String: BusinessCalendar] = [:]) -> PipelineDefinition {
        var definition = Pipelines.lead
        definition.sla = sla
        definition.calendars = calendars
        return definition
    }

    @Test("a valid policy on a calendar compiles; a definition without SLA stays valid")
    func valid() {
        #expect(Pipelines.problems(Pipelines.lead).isEmpty)
        let ok = definition(sla: [SlaPolicy(stage: "new", name: "first_response", within: "PT4H", warnAt: 0.8, calendar: "business")],
                            calendars: ["business": BusinessCalendar(timeZone: "Europe/London")])
        #expect(Pipelines.problems(ok).isEmpty)
    }

    @Test("every problem is reported with its path")
    func problems() {
        let bad = definition(sla: [
            SlaPolicy(stage: "nowhere", name: "first_response", within: "PT4H"),
            SlaPolicy(stage: "new", name: "first_response", within: "P1M", warnAt: 1.5, calendar: "missing"),
            SlaPolicy(stage: "won", name: "Bad Name", within: "PT1H", onBreach: [BreachAction(action: "shout", to: "manager")]),
        ], calendars: ["business": BusinessCalendar(days: ["monday"], start: "17:00", end: "09:00", holidays: ["2026-02-30"])])
        let paths = Set(Pipelines.problems(bad).map(\.path))
        #expect(paths.isSuperset(of: [
            "sla[0].stage", "sla[1].name", "sla[1].within", "sla[1].warnAt", "sla[1].calendar", "sla[2].stage", "sla[2].name", "sla[2].onBreach[0].action",
            "calendars.business.days[0]", "calendars.business.end", "calendars.business.holidays[0]",
        ]), "\(paths.sorted())")
    }
}
