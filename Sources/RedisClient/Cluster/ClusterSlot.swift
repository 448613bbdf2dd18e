/// Redis Cluster's key → slot function: CRC16-CCITT (XMODEM) of the key's hash tag, modulo 16384.
/// The hash tag is the text between the first `{` and the next `}` when that text is not empty;
/// otherwise the whole key is hashed (exactly what the server does, so the client routes alike).
public enum ClusterSlot {
    public static let count = 16384

    public static func slot(of key: [UInt8]) -> Int {
        Int(crc16(hashTag(of: key)) % UInt16(count))
    }

    public static func slot(of key: String) -> Int { slot(of: Array(key.utf8)) }

    /// The part of the key that is hashed.
    public static func hashTag(of key: [UInt8]) -> ArraySlice<UInt8> {
        guard let open = key.firstIndex(of: UInt8(ascii: "{")),
              let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")),
              close > open + 1 else { return key[...] }
        return key[(open + 1)..<close]
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }

    /// CRC16-CCITT with polynomial 0x1021 and initial value 0 (the XMODEM variant Redis uses).
    public static func crc16<Bytes: Sequence>(_ bytes: Bytes) -> UInt16 where Bytes.Element == UInt8 {
        var crc: UInt16 = 0
        for byte in bytes { crc = (crc << 8) ^ table[Int(UInt8(crc >> 8) ^ byte)] }
        return crc
    }
}
