public import CrmCore
import Foundation

/// The system's zone database (IANA names, with daylight saving), and fixed offsets such as `+01:00`.
public struct SystemTimeZones: TimeZoneRules {
    public init() {}

    public func offsetSeconds(zone: String, atUTCMilliseconds: Int64) -> Int? {
        if let fixed = FixedOffsetZones.parse(zone) { return fixed }
        guard let timeZone = TimeZone(identifier: zone) else { return nil }
        return timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(atUTCMilliseconds) / 1000))
    }
}

/// The process's clock, in ms since the epoch.
public struct SystemWallClock: WallClock {
    public init() {}
    public func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}
