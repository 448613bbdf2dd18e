import CrmCore

extension DashboardPage {
    /// The page as the gateway answers it, `{"items":[…],"next":"…","scanned":n}`, written straight
    /// to bytes: a page holds up to a thousand items, and building a tree of values for each costs
    /// more than reading them from Redis.
    public func json(now: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + items.count * 260)
        out.append(contentsOf: #"{"items":["#.utf8)
        for (index, item) in items.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            item.appendJSON(to: &out, now: now)
        }
        out.append(UInt8(ascii: "]"))
        if let next {
            out.append(contentsOf: #","next":"#.utf8)
            JSONBytes.string(next.token, to: &out)
        }
        out.append(contentsOf: #","scanned":"#.utf8)
        JSONBytes.integer(Int64(scanned), to: &out)
        out.append(UInt8(ascii: "}"))
        return out
    }
}

extension DashboardItem {
    /// The same object as `json(now:)`, keys sorted, appended to `out`.
    func appendJSON(to out: inout [UInt8], now: Int64) {
        out.append(contentsOf: #"{"ageSeconds":"#.utf8)
        JSONBytes.integer(max(0, now - createdAt) / 1000, to: &out)
        out.append(contentsOf: #","createdAt":"#.utf8)
        JSONBytes.instant(createdAt, to: &out)
        out.append(contentsOf: #","id":"#.utf8)
        JSONBytes.string(id, to: &out)
        out.append(contentsOf: #","kind":"#.utf8)
        JSONBytes.string(kind, to: &out)
        if let owner {
            out.append(contentsOf: #","owner":"#.utf8)
            JSONBytes.string(owner, to: &out)
        }
        out.append(contentsOf: #","pendingApprovals":"#.utf8)
        JSONBytes.integer(Int64(pendingApprovals), to: &out)
        if let sla {
            out.append(contentsOf: #","sla":"#.utf8)
            JSONBytes.string(sla, to: &out)
        }
        if let slaDue {
            out.append(contentsOf: #","slaDue":"#.utf8)
            JSONBytes.instant(slaDue, to: &out)
        }
        out.append(contentsOf: #","stage":"#.utf8)
        JSONBytes.string(stage, to: &out)
        out.append(contentsOf: #","subject":"#.utf8)
        JSONBytes.string(subject, to: &out)
        if let team {
            out.append(contentsOf: #","team":"#.utf8)
            JSONBytes.string(team, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

/// JSON values written as bytes: strings escaped as RFC 8259 requires, integers, and instants as
/// RFC 3339 UTC strings with milliseconds (as `InstantText` prints them).
enum JSONBytes {
    static func integer(_ value: Int64, to out: inout [UInt8]) {
        // Up to 15 bytes, a String is stored inline: no allocation.
        out.append(contentsOf: String(value).utf8)
    }

    static func instant(_ milliseconds: Int64, to out: inout [UInt8]) {
        let time = CivilTime(utcMilliseconds: milliseconds)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        out.append(UInt8(ascii: "\""))
        digits(time.year, 4)
        out.append(UInt8(ascii: "-"))
        digits(time.month, 2)
        out.append(UInt8(ascii: "-"))
        digits(time.day, 2)
        out.append(UInt8(ascii: "T"))
        digits(time.hour, 2)
        out.append(UInt8(ascii: ":"))
        digits(time.minute, 2)
        out.append(UInt8(ascii: ":"))
        digits(time.second, 2)
        out.append(UInt8(ascii: "."))
        digits(time.millisecond, 3)
        out.append(contentsOf: "Z\"".utf8)
    }

    static func string(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
