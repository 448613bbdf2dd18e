@testable import Contracts
import Foundation
import Testing

/// The hand-written JSON reader and writer (PER-CRM-0323: the per-message path) against Foundation,
/// which the project used before: the writer must produce the very bytes JSONEncoder produced (the
/// canonical form the audit chain's hashes and replayed outcomes are built on), and the reader must
/// read every document as JSONSerialization did and refuse what is not JSON.
@Suite("JSON codec")
struct JSONCodecTests {
    /// A seeded generator, so a failure names a reproducible case.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let awkwardScalars: [Character] = ["\"", "\\", "/", "\n", "\t", "\r", "\u{8}", "\u{C}", "\u{0}", "\u{1F}", "\u{7F}", "é", "ß",
                                              "\u{2028}", "😀", "中", "a", "Z", "0", " ", "-", "_", "."]

    static func string(_ random: inout Generator) -> String {
        String((0..<Int.random(in: 0...12, using: &random)).map { _ in
            Bool.random(using: &random) ? awkwardScalars.randomElement(using: &random)! : Character(Unicode.Scalar(UInt8.random(in: 0x20...0x7E, using: &random)))
        })
    }

    static func value(_ random: inout Generator, depth: Int = 0) -> JSONValue {
        switch Int.random(in: 0...(depth > 3 ? 5 : 7), using: &random) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &random))
        case 2: return .integer([0, -1, 1, .max, .min, Int64.random(in: -1_000_000...1_000_000, using: &random)].randomElement(using: &random)!)
        case 3:
            let doubles: [Double] = [0.5, -0.0, 1e20, 1e21, 1e-7, 123456789.123, 3.14159, 1e300, 5e-324, 0.1, 2.5e-8, 1.0e15, 1.0e16,
                                     Double.random(in: -1e6...1e6, using: &random)]
            return .number(doubles.randomElement(using: &random)!)
        case 4, 5: return .string(string(&random))
        case 6: return .array((0..<Int.random(in: 0...5, using: &random)).map { _ in value(&random, depth: depth + 1) })
        default:
            var fields: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...6, using: &random) { fields[string(&random)] = value(&random, depth: depth + 1) }
            return .object(fields)
        }
    }

    static let foundationEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// How the project read JSON before: JSONSerialization, numbers told apart by NSNumber's type code.
    static func foundationParse(_ bytes: [UInt8]) throws -> JSONValue {
        func convert(_ object: Any) throws -> JSONValue {
            switch object {
            case is NSNull: return .null
            case let text as String: return .string(text)
            case let number as NSNumber:
                switch String(cString: number.objCType) {
                case "c", "B": return .bool(number.boolValue)
                case "d", "f": return .number(number.doubleValue)
                case "Q" where number.uint64Value > UInt64(Int64.max): return .number(number.doubleValue)
                default: return .integer(number.int64Value)
                }
            case let array as [Any]: return .array(try array.map(convert))
            case let dictionary as [String: Any]: return .object(try dictionary.mapValues(convert))
            default: throw CocoaError(.coderReadCorrupt)
            }
        }
        return try convert(try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]))
    }

    @Test("compactJSON writes exactly JSONEncoder's sorted-keys bytes for 3,000 random documents", arguments: [1, 2, 3])
    func writerMatchesFoundation(seed: UInt64) throws {
        var random = Generator(state: seed)
        for _ in 0..<1000 {
            let value = Self.value(&random)
            let expected = Array(try Self.foundationEncoder.encode(value))
            #expect(value.compactJSON == expected, "\(String(decoding: expected, as: UTF8.self))")
        }
    }

    @Test("Envelope.encoded() writes exactly JSONEncoder's bytes, with and without correlation and causation ids")
    func envelopeMatchesFoundation() throws {
        var random = Generator(state: 7)
        for index in 0..<500 {
            let payload: JSONValue = .object(["leadId": .string("L-\(index)"), "data": Self.value(&random)])
            let envelope = Envelope(type: "lead.create", kind: index % 2 == 0 ? .command : .event, tenant: "acme", actor: Self.string(&random),
                                    correlationId: index % 3 == 0 ? nil : "c-\(index)", causationId: index % 5 == 0 ? nil : "k-\(index)",
                                    payload: payload)
            #expect(envelope.encoded() == Array(try Self.foundationEncoder.encode(envelope)))
        }
    }

    /// What a value reads back as once written: a double with an integral value and no exponent in
    /// its text (`100.0` → `100`, `-0.0` → `-0`) is an integer to any JSON reader.
    static func written(_ value: JSONValue) -> JSONValue {
        switch value {
        case .number(let number) where number == number.rounded() && !number.description.contains("e"): return .integer(Int64(number))
        case .array(let items): return .array(items.map(written))
        case .object(let fields): return .object(fields.mapValues(written))
        default: return value
        }
    }

    /// Equal, except that doubles may differ in the last bit (JSONSerialization on Linux does not
    /// round every decimal to the nearest double; the reader here does, through Double(String)) and
    /// that JSONSerialization reads Int64.min as a double (the reader here keeps it an integer).
    static func alike(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.number(let x), .number(let y)): return x == y || abs(x - y) <= 2 * x.ulp
        case (.integer(let x), .number(let y)): return x == .min && Double(x) == y
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { alike($0, $1) }
        case (.object(let x), .object(let y)): return x.count == y.count && x.allSatisfy { key, item in y[key].map { alike(item, $0) } ?? false }
        default: return a == b
        }
    }

    @Test("parse reads back exactly what the writer wrote, and what JSONSerialization reads (to the last bit of a double)", arguments: [11, 12])
    func readerMatchesFoundation(seed: UInt64) throws {
        var random = Generator(state: seed)
        for _ in 0..<1000 {
            let value = Self.value(&random)
            let bytes = value.compactJSON
            let parsed = try JSONValue.parse(bytes)
            #expect(parsed == Self.written(value), "\(String(decoding: bytes, as: UTF8.self))")
            #expect(Self.alike(parsed, try Self.foundationParse(bytes)), "\(String(decoding: bytes, as: UTF8.self))")
        }
    }

    @Test("every double written reads back as the same double (JSONSerialization misses about a third by one bit)")
    func doublesRoundTrip() throws {
        var random = Generator(state: 5)
        for _ in 0..<20_000 {
            let number = Double(bitPattern: random.next() & 0x7FEF_FFFF_FFFF_FFFF | (random.next() & 0x8000_0000_0000_0000))
            let read = try JSONValue.parse(JSONValue.number(number).compactJSON)
            #expect(read == Self.written(.number(number)), "\(number)")
        }
    }

    @Test("numbers, escapes and whitespace are read as JSONSerialization reads them")
    func readerEdgeCases() throws {
        let documents = ["1.0", "-0", "-0.0", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551616",
                         "1e2", "1E+2", "2.5e-3", #""\ud83d\ude00""#, #""\u00e9\/\b\f\n\r\t\"\\""#, " \n\t[ 1 , {\"a\" : [ ] } ]\r\n",
                         #"{"a":1,"a":2}"#, "true", "false", "null", #""""#, "{}", "[]", "0", "123456789012345678901234567890"]
        for document in documents {
            let bytes = Array(document.utf8)
            #expect(Self.alike(try JSONValue.parse(bytes), try Self.foundationParse(bytes)), "\(document)")
        }
        #expect(try JSONValue.parse(Array("-9223372036854775808".utf8)) == .integer(.min))
        #expect(try JSONValue.parse(Array("9223372036854775808".utf8)) == .number(9_223_372_036_854_775_808))
    }

    @Test("what is not JSON is refused with the offset where it went wrong")
    func readerRefuses() {
        let documents = ["", " ", "01", "1.", "-", "+1", ".5", "1e", "tru", "nul", "[1,]", "{\"a\":1,}", "{'a':1}", "{\"a\"}", "{\"a\":}", "[1 2]",
                         "\"abc", "\"a\u{1}\"", #""\x""#, #""\ud800""#, #""\udc00x""#, #""\u12g4""#, "1e400", "NaN", "Infinity", "[1]]", "{} {}",
                         String(repeating: "[", count: 600) + String(repeating: "]", count: 600)]
        for document in documents {
            #expect(throws: JSONSyntaxError.self, "\(document.prefix(40))") { try JSONValue.parse(Array(document.utf8)) }
        }
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse([0x22, 0xFF, 0xFE, 0x22]) }
        do {
            _ = try JSONValue.parse(Array("[1, 2, x]".utf8))
            Issue.record("accepted")
        } catch let error as JSONSyntaxError {
            #expect(error.offset == 7)
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test("a key twice in one object, however escaped, is refused when asked (envelopes) and the last one wins otherwise")
    func duplicateKeys() throws {
        let bytes = Array(#"{"p": {"leadId": "L-1", "\u006ceadId": "L-2"}}"#.utf8)
        #expect(try JSONValue.parse(bytes)["p"]?["leadId"] == "L-2")
        do {
            _ = try JSONValue.parse(bytes, rejectingDuplicateKeys: true)
            Issue.record("accepted")
        } catch let error as JSONSyntaxError {
            #expect(error.message == "the key 'leadId' appears twice in one object")
            #expect(error.offset == 24)
        }
    }
}
