import CrmCore
import Testing

struct FakeRecord: ExpressionContext {
    var values: [String: ExpressionValue]
    var now: Double = 1_795_000_000

    func value(of path: [String]) -> ExpressionValue { values[path.joined(separator: ".")] ?? .null }
}

let leadSchema = ExpressionSchema([
    "stage": .string, "data.score": .number, "data.company": .string, "data.vip": .bool,
    "data.tags": .list, "created_at": .date, "data.extra": .any,
])

let sampleLead = FakeRecord(values: [
    "stage": .string("new"), "data.score": .number(72), "data.company": .string("Acme Ltd"), "data.vip": .bool(false),
    "data.tags": .list([.string("inbound"), .string("emea")]), "created_at": .date(1_795_000_000 - 3 * 86_400),
])

@Suite("Expressions: parse once, type-check, evaluate totally (FUN-CRM-0277, SEC-CRM-0443)")
struct ExpressionTests {
    @Test(arguments: [
        ("data.score > 50 and stage == 'new'", true),
        ("data.score > 80 or data.vip", false),
        ("not data.vip and stage != \"won\"", true),
        ("stage in ['new', 'contacted']", true),
        ("'emea' in data.tags", true),
        ("len(data.company) == 8", true),
        ("days_since(created_at) >= 3", true),
        ("days_since(created_at) > 3.5", false),
        ("lower(data.company) == 'acme ltd'", true),
        ("-data.score < -70", true),
        ("(data.score >= 72) == true", true),
        ("data.extra == null", true),
        ("data.extra > 5", false),
        ("created_at < now()", true),
    ])
    func evaluates(_ source: String, _ expected: Bool) throws {
        let expression = try CompiledExpression.compile(source, schema: leadSchema)
        #expect(expression.holds(sampleLead) == expected, "\(source)")
    }

    @Test(arguments: [
        ("data.score > 'high'", 12),
        ("stage and data.vip", 1),
        ("data.unknown == 1", 1),
        ("len(data.score) == 1", 1),
        ("frobnicate(stage)", 1),
        ("data.score", 1),
        ("stage ==", 9),
        ("1 < 2 < 3", 7),
        ("stage == 'new", 10),
        ("data.score > 50; DROP TABLE leads", 16),
        ("${stage}", 1),
        ("stage == `whoami`", 10),
        ("data.__proto__ == 1", 1),
        ("stage = 'new'", 7),
    ])
    func rejectsWithColumn(_ source: String, _ column: Int) {
        do {
            _ = try CompiledExpression.compile(source, schema: leadSchema)
            Issue.record("'\(source)' compiled")
        } catch {
            #expect(error.column == column, "'\(source)': \(error)")
        }
    }

    @Test("length, depth and list size are bounded")
    func limits() {
        let long = String(repeating: "data.score > 1 and ", count: 200) + "true"
        #expect(throws: ExpressionError.self) { try CompiledExpression.compile(long, schema: leadSchema) }
        let deep = String(repeating: "(", count: 40) + "true" + String(repeating: ")", count: 40)
        #expect(throws: ExpressionError.self) { try CompiledExpression.compile(deep, schema: leadSchema) }
        let nots = String(repeating: "not ", count: 40) + "true"
        #expect(throws: ExpressionError.self) { try CompiledExpression.compile(nots, schema: leadSchema) }
        let list = "stage in [" + Array(repeating: "'x'", count: 300).joined(separator: ",") + "]"
        #expect(throws: ExpressionError.self) { try CompiledExpression.compile(list, schema: leadSchema) }
        let fine = String(repeating: "(", count: 10) + "data.score > 1" + String(repeating: ")", count: 10)
        #expect((try? CompiledExpression.compile(fine, schema: leadSchema)) != nil)
    }

    @Test("thousands of random and hostile strings: never a crash, never a hang, every error with a column")
    func fuzz() {
        var generator = SplitMix(seed: 0xC0FFEE)
        let pieces = ["data.score", "stage", "(", ")", "[", "]", ",", "and", "or", "not", "in", "==", "!=", "<", "<=", ">", ">=", "-",
                      "'x'", "\"y\"", "1", "2.5", "len(", "now()", "days_since(", "true", "null", ".", " ", "'", "\\", ";", "{", "$",
                      "\u{0}", "é", "🙂", "data.", "created_at", "lower(", "9999999999999999999999", "data.tags"]
        var compiled = 0
        for round in 0..<6000 {
            var source = ""
            if round % 10 == 0 {
                source = String((0..<Int(generator.next() % 80)).map { _ in Character(Unicode.Scalar(UInt8(generator.next() % 128))) })
            } else {
                for _ in 0..<Int(generator.next() % 24) { source += pieces[Int(generator.next() % UInt64(pieces.count))] }
            }
            do {
                let expression = try CompiledExpression.compile(source, schema: leadSchema, expecting: .any)
                compiled += 1
                _ = try? expression.evaluate(sampleLead)
            } catch {
                #expect(error.column >= 1 && error.column <= source.count + 1, "'\(source)': \(error)")
            }
        }
        #expect(compiled > 20, "the generator also makes valid expressions")
        for hostile in [String(repeating: "(", count: 100_000), String(repeating: "[", count: 50_000), String(repeating: "- ", count: 50_000),
                        String(repeating: "a.", count: 5000) + "b", String(repeating: "'", count: 3001)] {
            #expect(throws: ExpressionError.self) { try CompiledExpression.compile(hostile, schema: leadSchema) }
        }
    }
}

/// A small deterministic generator, so a failing fuzz case can be replayed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
