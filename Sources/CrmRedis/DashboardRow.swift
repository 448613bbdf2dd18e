/// Reads a dashboard row as the projection's Lua writes it (cjson: one flat object of strings and
/// numbers). A page decodes up to a thousand rows, so this reads the bytes directly rather than
/// going through a general JSON parser.
struct DashboardRow {
    var kind: String?
    var stage: String?
    var owner: String?
    var team: String?
    var sla: String?
    var created: Double?
    var due: Double?
    var approvals: Double?

    init?(_ bytes: [UInt8]) {
        var index = 0
        func skipSpace() { while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x09 || bytes[index] == 0x0D { index += 1 } }
        func string() -> String? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            var out: [UInt8] = []
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
                guard byte == UInt8(ascii: "\\") else { out.append(byte); continue }
                guard index < bytes.count else { return nil }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    guard index + 4 <= bytes.count, let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
                          let scalar = Unicode.Scalar(code) else { return nil }
                    index += 4
                    out += Array(String(Character(scalar)).utf8)
                default: out.append(escaped)
                }
            }
            return nil
        }
        skipSpace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        while true {
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "}") { return }
            if bytes[index] == UInt8(ascii: ",") { index += 1; skipSpace() }
            // Keys are one or two ASCII letters (DashboardLua): read them as a number, not a String.
            guard index + 2 < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            var key = UInt16(bytes[index + 1])
            index += 2
            if bytes[index] != UInt8(ascii: "\"") {
                key = key << 8 | UInt16(bytes[index])
                index += 1
            }
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            index += 1
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            skipSpace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: "\"") {
                guard let value = string() else { return nil }
                switch key {
                case Self.key("kd"): kind = value
                case Self.key("s"): stage = value
                case Self.key("u"): owner = value
                case Self.key("t"): team = value
                case Self.key("a"): sla = value
                default: break
                }
            } else {
                let start = index
                while index < bytes.count, bytes[index] != UInt8(ascii: ","), bytes[index] != UInt8(ascii: "}") { index += 1 }
                // Anything else cjson writes here is a number (the projection stores no booleans, arrays or nulls).
                guard let value = Self.number(bytes[start..<index]) else { return nil }
                switch key {
                case Self.key("c"): created = value
                case Self.key("d"): due = value
                case Self.key("p"): approvals = value
                default: break
                }
            }
        }
    }
}

extension DashboardRow {
    /// A number as cjson and Redis print them: plain digits read directly, anything else (a
    /// fraction, an exponent) through Double's own parser.
    static func number(_ bytes: ArraySlice<UInt8>) -> Double? {
        var value: Int64 = 0
        var negative = false
        var any = false
        for (offset, byte) in bytes.enumerated() {
            if offset == 0, byte == UInt8(ascii: "-") { negative = true; continue }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), value < Int64.max / 10 - 10 else {
                return Double(String(decoding: bytes, as: UTF8.self).trimmingSpaces)
            }
            value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            any = true
        }
        guard any else { return nil }
        return Double(negative ? -value : value)
    }

    static func key(_ name: StaticString) -> UInt16 {
        let bytes = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        return bytes.count == 1 ? UInt16(bytes[0]) : UInt16(bytes[0]) << 8 | UInt16(bytes[1])
    }
}

private extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
