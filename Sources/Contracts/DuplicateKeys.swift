import Foundation

/// JSON that names one key twice in an object is ambiguous (parsers keep the first, the last, or
/// refuse), so a message could mean one thing to a gateway and another to a service: refuse it.
enum DuplicateKeys {
    /// The first key found twice in one object of `bytes`, which must already be valid JSON.
    static func first(in bytes: [UInt8]) -> String? {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var objects: [Set<String>?] = []   // one entry per open container: keys for objects, nil for arrays
        var expectingKey = false
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "{"):
                objects.append([])
                expectingKey = true
            case UInt8(ascii: "["):
                objects.append(nil)
                expectingKey = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                _ = objects.popLast()
                expectingKey = false
            case UInt8(ascii: ","):
                expectingKey = objects.last.map { $0 != nil } ?? false
            case quote:
                let start = index
                index += 1
                while index < bytes.count, bytes[index] != quote {
                    if bytes[index] == backslash { index += 1 }
                    index += 1
                }
                if expectingKey, let last = objects.indices.last, var keys = objects[last] {
                    let raw = bytes[start...min(index, bytes.count - 1)]
                    // Escapes spell one key several ways ("a", "\u0061"): compare the decoded text. Every
                    // envelope passes here, so only a key with an escape pays for the decoding.
                    let key = raw.contains(backslash)
                        ? (try? JSONSerialization.jsonObject(with: Data(raw), options: .fragmentsAllowed) as? String) ?? String(decoding: raw, as: UTF8.self)
                        : String(decoding: raw.dropFirst().dropLast(), as: UTF8.self)
                    guard keys.insert(key).inserted else { return key }
                    objects[last] = keys
                    expectingKey = false
                }
            default:
                break
            }
            index += 1
        }
        return nil
    }
}
