/// An ISO 8601 duration such as `PT4H`, `P1D`, `P2W` or `P1DT30M`, held as exact milliseconds.
/// Years and months are refused: their length depends on the calendar, so a timer could not say
/// when it is due without one.
public struct ISODuration: Sendable, Hashable, CustomStringConvertible {
    public let milliseconds: Int64
    public let text: String

    /// Ten years: longer durations are almost certainly mistakes and would overflow nothing, but a
    /// bound keeps every computed instant far inside what a double holds exactly.
    public static let maximumMilliseconds: Int64 = 10 * 366 * 86_400_000

    public init(milliseconds: Int64, text: String) {
        self.milliseconds = milliseconds
        self.text = text
    }

    public var description: String { text }

    /// Why a duration text was refused.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let text: String
        public let reason: String
        public var description: String { "'\(text)' is not an ISO 8601 duration: \(reason)" }
    }

    /// Parses `P[nW]` or `P[nD][T[nH][nM][n[.f]S]]`; every number is a non-negative integer except the
    /// seconds, which may carry up to three decimals. The result must be positive.
    public static func parse(_ text: String) throws(ParseError) -> ISODuration {
        func fail(_ reason: String) -> ParseError { ParseError(text: text, reason: reason) }
        let bytes = Array(text.utf8)
        guard bytes.count <= 64 else { throw fail("longer than 64 characters") }
        guard bytes.first == UInt8(ascii: "P"), bytes.count > 1 else { throw fail("it starts with 'P' and names at least one part, e.g. PT4H or P1D") }
        var index = 1
        var inTime = false
        var total: Int64 = 0
        // Units must come largest first (W, D, then H, M, S), each at most once, as ISO 8601 writes them.
        var lastRank = -1
        var sawPart = false
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "T") {
                guard !inTime else { throw fail("'T' appears twice") }
                inTime = true
                index += 1
                guard index < bytes.count else { throw fail("'T' must be followed by hours, minutes or seconds") }
                continue
            }
            var whole: Int64 = 0
            var digits = 0
            while index < bytes.count, (48...57).contains(bytes[index]) {
                whole = whole * 10 + Int64(bytes[index] - 48)
                digits += 1
                index += 1
                guard digits <= 12 else { throw fail("a number is too long") }
            }
            var fractionMillis: Int64 = 0
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: ",") {
                index += 1
                var scale: Int64 = 100
                var fractionDigits = 0
                while index < bytes.count, (48...57).contains(bytes[index]) {
                    guard fractionDigits < 3 else { throw fail("at most three decimals (milliseconds)") }
                    fractionMillis += Int64(bytes[index] - 48) * scale
                    scale /= 10
                    fractionDigits += 1
                    index += 1
                }
                guard fractionDigits > 0 else { throw fail("a decimal point needs digits after it") }
                guard index < bytes.count, bytes[index] == UInt8(ascii: "S") else { throw fail("only seconds may have decimals") }
            }
            guard digits > 0 else { throw fail("expected a number at position \(index + 1)") }
            guard index < bytes.count else { throw fail("the number \(whole) has no unit") }
            let unit = bytes[index]
            index += 1
            let unitMillis: Int64
            switch (inTime, unit) {
            case (false, UInt8(ascii: "W")): unitMillis = 7 * 86_400_000
            case (false, UInt8(ascii: "D")): unitMillis = 86_400_000
            case (true, UInt8(ascii: "H")): unitMillis = 3_600_000
            case (true, UInt8(ascii: "M")): unitMillis = 60_000
            case (true, UInt8(ascii: "S")): unitMillis = 1000
            case (false, UInt8(ascii: "Y")), (false, UInt8(ascii: "M")):
                throw fail("years and months have no fixed length; use weeks or days")
            default:
                throw fail("unknown unit '\(String(decoding: [unit], as: UTF8.self))'\(inTime ? " after T" : " before T")")
            }
            let rank = inTime ? [UInt8(ascii: "H"): 2, UInt8(ascii: "M"): 3, UInt8(ascii: "S"): 4][unit]! : (unit == UInt8(ascii: "W") ? 0 : 1)
            guard rank > lastRank else { throw fail("units must come largest first, each once (e.g. P1DT2H30M)") }
            lastRank = rank
            total += whole * unitMillis + fractionMillis
            sawPart = true
            guard total <= maximumMilliseconds else { throw fail("longer than ten years") }
        }
        guard sawPart else { throw fail("it names no part") }
        guard total > 0 else { throw fail("it must be longer than zero") }
        return ISODuration(milliseconds: total, text: text)
    }
}
