import CrmCore
import Testing

/// FUN-CRM-0290: timers are due at an ISO 8601 duration after scheduling or at an absolute RFC 3339 time.
@Suite("Timer rules: ISO 8601 durations and due times")
struct TimerRulesTests {
    static let valid: [(String, Int64)] = [
        ("PT4H", 14_400_000), ("P1D", 86_400_000), ("P2W", 1_209_600_000), ("P1DT30M", 88_200_000),
        ("PT0.25S", 250), ("PT90M", 5_400_000), ("PT1H1M1S", 3_661_000),
    ]

    @Test("durations: hours, days, weeks, combined parts and decimal seconds")
    func parses() throws {
        for (text, milliseconds) in Self.valid {
            #expect(try ISODuration.parse(text).milliseconds == milliseconds, "\(text)")
        }
    }

    @Test("malformed durations are refused with a reason", arguments: [
        "", "P", "PT", "4H", "P1M", "P1Y", "PT4", "PT4X", "P1H", "PT1H1H", "PT0S", "PT1.2345S", "P1.5D", "P99999999999999D", "pt4h", "PT30M2H", "P1DT",
    ])
    func refuses(text: String) {
        #expect(throws: ISODuration.ParseError.self) { try ISODuration.parse(text) }
    }

    @Test("years and months are refused because their length depends on the calendar")
    func monthsExplained() {
        let error = #expect(throws: ISODuration.ParseError.self) { try ISODuration.parse("P1M") }
        #expect(error?.description.contains("no fixed length") == true)
    }

    @Test("due times: after a duration, or at an RFC 3339 instant; instants print back exactly")
    func dueTimes() throws {
        let now: Int64 = 1_795_554_000_123
        #expect(TimerDue.after(try ISODuration.parse("PT4H")).milliseconds(scheduledAt: now) == now + 14_400_000)
        let instant = try #require(TimerDue.instant("2026-11-27T17:00:00.250Z"))
        #expect(TimerDue.at(milliseconds: instant).milliseconds(scheduledAt: now) == instant)
        #expect(InstantText.rfc3339(milliseconds: instant) == "2026-11-27T17:00:00.250Z")
        #expect(InstantText.rfc3339(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(TimerDue.instant("2026-02-30T00:00:00Z") == nil)
        #expect(TimerDue.instant("tomorrow") == nil)
        #expect(CivilTime(utcMilliseconds: instant).isoWeekday == 5, "2026-11-27 is a Friday")
    }
}
