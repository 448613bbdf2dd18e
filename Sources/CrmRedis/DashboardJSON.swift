import CrmCore

extension DashboardPage {
    /// The page as the gateway answers it, `{"items":[…],"next":"…","scanned":n}`, written straight
    /// to bytes: a page holds up to a thousand items, and building a tree of values for each costs
    /// more than reading them from Redis.
    public func json(now: Int64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + items.count * 260)
        out += Array(#"{"items":["#.utf8)
        for (index, item) in items.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            item.appendJSON(to: &out, now: now)
        }
        out.append(UInt8(ascii: "]"))
        if let next {
            out += Array(#","next":"#.utf8)
            JSONBytes.string(next.token, to: &out)
        }
        out += Array(#","scanned":\#(scanned)}"#.utf8)
        return out
    }
}

extension DashboardItem {
    /// The same object as `json(now:)`, keys sorted, appended to `out`.
    func appendJSON(to out: inout [UInt8], now: Int64) {
        out += Array(#"{"ageSeconds":\#(max(0, now - createdAt) / 1000),"createdAt":"#.utf8)
        JSONBytes.string(InstantText.rfc3339(milliseconds: createdAt), to: &out)
        out += Array(#","id":"#.utf8)
        JSONBytes.string(id, to: &out)
        out += Array(#","kind":"#.utf8)
        JSONBytes.string(kind, to: &out)
        if let owner {
            out += Array(#","owner":"#.utf8)
            JSONBytes.string(owner, to: &out)
        }
        out += Array(#","pendingApprovals":\#(pendingApprovals)"#.utf8)
        if let sla {
            out += Array(#","sla":"#.utf8)
            JSONBytes.string(sla, to: &out)
        }
        if let slaDue {
            out += Array(#","slaDue":"#.utf8)
            JSONBytes.string(InstantText.rfc3339(milliseconds: slaDue), to: &out)
        }
        out += Array(#","stage":"#.utf8)
        JSONBytes.string(stage, to: &out)
        out += Array(#","subject":"#.utf8)
        JSONBytes.string(subject, to: &out)
        if let team {
            out += Array(#","team":"#.utf8)
            JSONBytes.string(team, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

/// JSON string literals, escaped as RFC 8259 requires.
enum JSONBytes {
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
