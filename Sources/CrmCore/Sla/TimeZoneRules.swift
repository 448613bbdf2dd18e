/// How far a time zone's wall clock is from UTC at an instant. Injected, so CrmCore stays pure:
/// the services pass the system's zone database, tests pass fixed offsets.
public protocol TimeZoneRules: Sendable {
    /// Seconds to add to UTC to read the wall clock of `zone` at the UTC instant; nil for an unknown zone.
    func offsetSeconds(zone: String, atUTCMilliseconds: Int64) -> Int?
}

/// Zones given as fixed offsets only: `UTC`, `Z`, `+02:00`, `-05:30`.
public struct FixedOffsetZones: TimeZoneRules {
    public init() {}

    public func offsetSeconds(zone: String, atUTCMilliseconds: Int64) -> Int? { Self.parse(zone) }

    public static func parse(_ zone: String) -> Int? {
        if zone == "UTC" || zone == "Z" || zone == "GMT" { return 0 }
        let bytes = Array(zone.utf8)
        guard bytes.count == 6, bytes[0] == UInt8(ascii: "+") || bytes[0] == UInt8(ascii: "-"), bytes[3] == UInt8(ascii: ":"),
              let hours = Int(String(decoding: bytes[1...2], as: UTF8.self)), let minutes = Int(String(decoding: bytes[4...5], as: UTF8.self)),
              hours <= 14, minutes < 60 else { return nil }
        let seconds = hours * 3600 + minutes * 60
        return bytes[0] == UInt8(ascii: "-") ? -seconds : seconds
    }
}

/// The source of "now" for time-driven rules, so tests can set it.
public protocol WallClock: Sendable {
    func nowMilliseconds() -> Int64
}

/// A clock that says what it is told: for tests and replays.
public struct FixedClock: WallClock {
    public let milliseconds: Int64
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public func nowMilliseconds() -> Int64 { milliseconds }
}
