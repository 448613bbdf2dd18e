/// When a timer is due: at an absolute RFC 3339 instant, or a duration after the moment it is
/// scheduled. Instants are whole milliseconds since 1970-01-01T00:00:00Z.
public enum TimerDue: Sendable, Hashable {
    case at(milliseconds: Int64)
    case after(ISODuration)

    /// The latest instant a timer may be set for: 9999-12-31, so every due time prints as RFC 3339.
    public static let latestMilliseconds: Int64 = 253_402_300_799_000

    /// The due instant for a timer scheduled at `now`. An instant in the past is due at once
    /// (it fires on the next sweep), as a late-arriving schedule command should not be lost.
    public func milliseconds(scheduledAt now: Int64) -> Int64 {
        switch self {
        case .at(let instant): return instant
        case .after(let duration): return now + duration.milliseconds
        }
    }

    /// Reads an RFC 3339 UTC instant (`2026-11-24T21:00:00.123Z`) as milliseconds.
    public static func instant(_ text: String) -> Int64? {
        guard let seconds = RFC3339.seconds(text), seconds >= 0 else { return nil }
        let millis = Int64((seconds * 1000).rounded())
        return millis <= latestMilliseconds ? millis : nil
    }
}

/// Prints instants as RFC 3339 UTC with milliseconds, by arithmetic (CrmCore stays free of Foundation).
public enum InstantText {
    public static func rfc3339(milliseconds: Int64) -> String {
        let civil = CivilTime(utcMilliseconds: milliseconds)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(civil.year, 4))-\(pad(civil.month, 2))-\(pad(civil.day, 2))T\(pad(civil.hour, 2)):\(pad(civil.minute, 2)):\(pad(civil.second, 2)).\(pad(civil.millisecond, 3))Z"
    }
}

/// A calendar date and wall-clock time, converted from and to milliseconds since the epoch
/// (proleptic Gregorian, no leap seconds).
public struct CivilTime: Sendable, Hashable {
    public var year: Int
    public var month: Int
    public var day: Int
    public var hour: Int
    public var minute: Int
    public var second: Int
    public var millisecond: Int

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, millisecond: Int = 0) {
        (self.year, self.month, self.day) = (year, month, day)
        (self.hour, self.minute, self.second, self.millisecond) = (hour, minute, second, millisecond)
    }

    public init(utcMilliseconds: Int64) {
        let days = Int(utcMilliseconds >= 0 ? utcMilliseconds / 86_400_000 : (utcMilliseconds - 86_399_999) / 86_400_000)
        let rest = Int(utcMilliseconds - Int64(days) * 86_400_000)
        (year, month, day) = Self.civil(fromDays: days)
        hour = rest / 3_600_000
        minute = rest / 60_000 % 60
        second = rest / 1000 % 60
        millisecond = rest % 1000
    }

    /// Days since 1970-01-01 of this date.
    public var daysSinceEpoch: Int { Self.days(year: year, month: month, day: day) }

    /// Milliseconds since the epoch, reading this wall-clock time as UTC.
    public var utcMilliseconds: Int64 {
        Int64(daysSinceEpoch) * 86_400_000 + Int64(hour * 3_600_000 + minute * 60_000 + second * 1000 + millisecond)
    }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    public var isoWeekday: Int {
        let weekday = (daysSinceEpoch + 3) % 7  // 1970-01-01 was a Thursday (ISO 4)
        return (weekday < 0 ? weekday + 7 : weekday) + 1
    }

    // Howard Hinnant's days-from-civil and civil-from-days.
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
