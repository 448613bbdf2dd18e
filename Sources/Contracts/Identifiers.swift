/// The character rules of DESIGN §3's identifiers. They keep ids safe to embed in key names.
public enum Identifier {
    /// Message ids, correlation ids, record ids: `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`.
    public static func isMessageID(_ text: String) -> Bool {
        matches(text, maxLength: 128, first: isAlnum) { isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Tenants: `^[a-z0-9][a-z0-9_-]{0,62}$`.
    public static func isTenant(_ text: String) -> Bool {
        matches(text, maxLength: 63, first: isLowerAlnum) { isLowerAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// Actors (user ids): `^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`.
    public static func isActor(_ text: String) -> Bool {
        matches(text, maxLength: 128, first: isAlnum) {
            isAlnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "@") || $0 == UInt8(ascii: "-")
        }
    }

    /// Message types: `^[a-z][a-z_]*(\.[a-z][a-z_]*)+$`.
    public static func isMessageType(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, text.utf8.count <= 64 else { return false }
        return parts.allSatisfy { part in
            guard let first = part.utf8.first, isLower(first) else { return false }
            return part.utf8.allSatisfy { isLower($0) || $0 == UInt8(ascii: "_") }
        }
    }

    /// Stage and action names: `^[a-z][a-z0-9_]{0,62}$`.
    public static func isName(_ text: String) -> Bool {
        matches(text, maxLength: 63, first: isLower) { isLowerAlnum($0) || $0 == UInt8(ascii: "_") }
    }

    private static func matches(_ text: String, maxLength: Int, first: (UInt8) -> Bool, rest: (UInt8) -> Bool) -> Bool {
        let bytes = text.utf8
        guard let head = bytes.first, bytes.count <= maxLength, first(head) else { return false }
        return bytes.dropFirst().allSatisfy(rest)
    }

    private static func isLower(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") }
    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    private static func isLowerAlnum(_ byte: UInt8) -> Bool { isLower(byte) || isDigit(byte) }
    private static func isAlnum(_ byte: UInt8) -> Bool {
        isLowerAlnum(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }
}
