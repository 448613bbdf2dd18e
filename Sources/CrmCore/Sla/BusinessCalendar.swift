/// Business hours: the working days of the week, one window of hours per working day, holidays,
/// all read in one time zone. SLA durations on such a calendar count working time only.
public struct BusinessCalendar: Sendable, Hashable, Codable {
    /// An IANA zone (`Europe/London`), `UTC`, or a fixed offset (`+01:00`).
    public var timeZone: String
    /// Working days: `mon` `tue` `wed` `thu` `fri` `sat` `sun`.
    public var days: [String]
    /// Start and end of the working window, `HH:MM` (24 h, end after start; `24:00` allowed as end).
    public var start: String
    public var end: String
    /// Whole days off, `YYYY-MM-DD` in the calendar's zone.
    public var holidays: [String]

    public init(timeZone: String = "UTC", days: [String] = ["mon", "tue", "wed", "thu", "fri"], start: String = "09:00", end: String = "17:00",
                holidays: [String] = []) {
        self.timeZone = timeZone
        self.days = days
        self.start = start
        self.end = end
        self.holidays = holidays
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        timeZone = try container.decodeIfPresent(String.self, forKey: .timeZone) ?? "UTC"
        days = try container.decode([String].self, forKey: .days)
        start = try container.decode(String.self, forKey: .start)
        end = try container.decode(String.self, forKey: .end)
        holidays = try container.decodeIfPresent([String].self, forKey: .holidays) ?? []
    }

    static let dayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    /// Minutes after midnight of `HH:MM`; `24:00` only when `allowMidnightEnd`.
    static func minutes(_ text: String, allowMidnightEnd: Bool) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard text.utf8.count == 5, parts.count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]), minute >= 0, minute < 60, hour >= 0 else { return nil }
        if hour == 24, minute == 0, allowMidnightEnd { return 1440 }
        return hour < 24 ? hour * 60 + minute : nil
    }

    /// Days since the epoch of `YYYY-MM-DD`, nil unless it is a real date.
    static func dayNumber(_ text: String) -> Int? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 10, parts.count == 3, let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1...12).contains(month), day >= 1 else { return nil }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= monthDays[month - 1] else { return nil }
        return CivilTime.days(year: year, month: month, day: day)
    }

    /// Every problem of the calendar, with paths under `path`.
    public func problems(at path: String) -> [DefinitionProblem] {
        var problems: [DefinitionProblem] = []
        func problem(_ field: String, _ message: String) { problems.append(DefinitionProblem(path: "\(path).\(field)", message: message)) }
        if timeZone.isEmpty || timeZone.utf8.count > 64 || !timeZone.utf8.allSatisfy({ byte in
            (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte) || "/_+-:".utf8.contains(byte)
        }) {
            problem("timeZone", "'\(timeZone)' is not a time zone name such as Europe/London, UTC or +01:00")
        }
        if days.isEmpty { problem("days", "a calendar has at least one working day") }
        for (index, day) in days.enumerated() where !Self.dayNames.contains(day) {
            problem("days[\(index)]", "'\(day)' is not one of \(Self.dayNames.joined(separator: ", "))")
        }
        if Set(days).count != days.count { problem("days", "lists a day twice") }
        let startMinute = Self.minutes(start, allowMidnightEnd: false)
        let endMinute = Self.minutes(end, allowMidnightEnd: true)
        if startMinute == nil { problem("start", "'\(start)' is not a time HH:MM") }
        if endMinute == nil { problem("end", "'\(end)' is not a time HH:MM (24:00 allowed)") }
        if let startMinute, let endMinute, endMinute <= startMinute { problem("end", "the working day must end after it starts (\(start))") }
        for (index, holiday) in holidays.enumerated() where Self.dayNumber(holiday) == nil {
            problem("holidays[\(index)]", "'\(holiday)' is not a date YYYY-MM-DD")
        }
        if holidays.count > 1000 { problem("holidays", "more than 1000 holidays") }
        return problems
    }

    /// The calendar with its texts read, ready for arithmetic; nil when it has problems.
    public func prepared() -> PreparedCalendar? {
        guard problems(at: "calendar").isEmpty, let startMinute = Self.minutes(start, allowMidnightEnd: false),
              let endMinute = Self.minutes(end, allowMidnightEnd: true) else { return nil }
        let weekdays = Set(days.compactMap { Self.dayNames.firstIndex(of: $0).map { $0 + 1 } })
        return PreparedCalendar(timeZone: timeZone, weekdays: weekdays, startMinute: startMinute, endMinute: endMinute,
                                holidays: Set(holidays.compactMap(Self.dayNumber)))
    }
}

/// A checked calendar: working-time arithmetic on UTC milliseconds.
public struct PreparedCalendar: Sendable, Hashable {
    public let timeZone: String
    let weekdays: Set<Int>
    let startMinute: Int
    let endMinute: Int
    let holidays: Set<Int>

    /// How many days ahead the arithmetic looks for working time before giving up (a calendar whose
    /// every working day is a holiday would otherwise loop forever).
    static let horizonDays = 3 * 366

    public enum CalendarError: Error, Sendable, Equatable, CustomStringConvertible {
        case unknownTimeZone(String)
        case noWorkingTime(withinDays: Int)

        public var description: String {
            switch self {
            case .unknownTimeZone(let zone): "unknown time zone '\(zone)'"
            case .noWorkingTime(let days): "the calendar has no working time within \(days) days"
            }
        }
    }

    private func offsetMillis(_ utc: Int64, _ zones: any TimeZoneRules) throws(CalendarError) -> Int64 {
        guard let seconds = zones.offsetSeconds(zone: timeZone, atUTCMilliseconds: utc) else { throw .unknownTimeZone(timeZone) }
        return Int64(seconds) * 1000
    }

    /// The working window `[start, end)` of the local day that starts at `dayStartLocal`, or nil on a day off.
    private func window(localDayStart: Int64) -> (Int64, Int64)? {
        let day = Int(localDayStart / 86_400_000)
        let civil = CivilTime(utcMilliseconds: localDayStart)
        guard weekdays.contains(civil.isoWeekday), !holidays.contains(day) else { return nil }
        return (localDayStart + Int64(startMinute) * 60_000, localDayStart + Int64(endMinute) * 60_000)
    }

    private func localDayStart(_ local: Int64) -> Int64 {
        let day = local >= 0 ? local / 86_400_000 : (local - 86_399_999) / 86_400_000
        return day * 86_400_000
    }

    /// The instant after `workMilliseconds` of working time, counted from `start` (UTC ms).
    public func adding(workMilliseconds: Int64, to start: Int64, zones: any TimeZoneRules) throws(CalendarError) -> Int64 {
        var remaining = workMilliseconds
        var offset = try offsetMillis(start, zones)
        var local = start + offset
        for _ in 0..<Self.horizonDays {
            let dayStart = localDayStart(local)
            if let (open, close) = window(localDayStart: dayStart) {
                let from = max(local, open)
                if from < close {
                    if remaining <= close - from {
                        let resultLocal = from + remaining
                        // Convert back with the offset in force at the result (DST may differ from the start).
                        let settled = try offsetMillis(resultLocal - offset, zones)
                        return resultLocal - settled
                    }
                    remaining -= close - from
                } else if remaining == 0, from == close {
                    return from - offset
                }
            }
            local = dayStart + 86_400_000
            offset = try offsetMillis(local - offset, zones)
        }
        throw .noWorkingTime(withinDays: Self.horizonDays)
    }

    /// Working time between two UTC instants (0 when `to` is not after `from`).
    public func workingMilliseconds(from: Int64, to: Int64, zones: any TimeZoneRules) throws(CalendarError) -> Int64 {
        guard to > from else { return 0 }
        var total: Int64 = 0
        var offset = try offsetMillis(from, zones)
        var local = from + offset
        let endLocal = to + (try offsetMillis(to, zones))
        for _ in 0..<(Self.horizonDays * 4) {
            guard local < endLocal else { return total }
            let dayStart = localDayStart(local)
            if let (open, close) = window(localDayStart: dayStart) {
                let lower = max(local, open)
                let upper = min(close, endLocal)
                if upper > lower { total += upper - lower }
            }
            local = dayStart + 86_400_000
            offset = try offsetMillis(local - offset, zones)
        }
        return total
    }
}
