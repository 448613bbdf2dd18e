/// RFC 3339 timestamps in UTC (`2026-11-24T21:00:00.123Z`), read by arithmetic.
public enum RFC3339 {
    /// The instant, or nil unless the text has the contract's shape and names a real date and time
    /// (no 25:00, no February 30; a leap second :60 is allowed, as RFC 3339 does). Pure arithmetic:
    /// every envelope is checked, so no formatter runs on this path.
    public static func seconds(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        guard hasContractShape(bytes) else { return nil }
        func number(_ range: Range<Int>) -> Int { bytes[range].reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } }
        let (year, month, day) = (number(0..<4), number(5..<7), number(8..<10))
        let (hour, minute, second) = (number(11..<13), number(14..<16), number(17..<19))
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), day >= 1, day <= monthDays[month - 1], hour <= 23, minute <= 59, second <= 60 else { return nil }
        var fraction = 0.0
        if bytes.count > 21 {
            var scale = 0.1
            for digit in bytes[20..<(bytes.count - 1)] {
                fraction += Double(digit - UInt8(ascii: "0")) * scale
                scale /= 10
            }
        }
        // Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        let total = Double(days * 86_400 + hour * 3600 + minute * 60 + second) + fraction
        return total
    }

    /// An RFC 3339 time with its offset (`2026-12-01T09:00:00+01:00`, or `Z`), as seconds since 1970;
    /// nil unless well formed. For times people give (delegation ranges), not envelope timestamps.
    public static func instant(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        if bytes.last == UInt8(ascii: "Z") { return seconds(text) }
        guard bytes.count >= 25 else { return nil }
        let offset = bytes.suffix(6)
        let sign = offset.first
        guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"), offset[offset.startIndex + 3] == UInt8(ascii: ":") else { return nil }
        let digits = [1, 2, 4, 5].map { offset[offset.startIndex + $0] }
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        let value = digits.map { Int($0 - UInt8(ascii: "0")) }
        let (hours, minutes) = (value[0] * 10 + value[1], value[2] * 10 + value[3])
        guard hours <= 23, minutes <= 59, let local = seconds(String(decoding: bytes.dropLast(6), as: UTF8.self) + "Z") else { return nil }
        let shift = Double(hours * 3600 + minutes * 60)
        return sign == UInt8(ascii: "+") ? local - shift : local + shift
    }

    /// envelope.schema.json's pattern: `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$`.
    private static func hasContractShape(_ bytes: [UInt8]) -> Bool {
        let template = Array("0000-00-00T00:00:00".utf8)
        guard bytes.count >= 20, bytes.count <= 30, bytes.last == UInt8(ascii: "Z") else { return false }
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        for (index, expected) in template.enumerated() {
            guard expected == UInt8(ascii: "0") ? isDigit(bytes[index]) : bytes[index] == expected else { return false }
        }
        let fraction = bytes[19..<(bytes.count - 1)]
        return fraction.isEmpty || (fraction.first == UInt8(ascii: ".") && fraction.count >= 2 && fraction.dropFirst().allSatisfy(isDigit))
    }
}
