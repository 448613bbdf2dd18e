// crm-microbench: the per-message hot paths timed in-process, no Redis (make microbench, make bench).
//   crm-microbench [--only NAME] [--rounds N] [--json]
//   crm-microbench --only NAME --iterations N     # exactly N operations, nothing timed (for callgrind)
// Each case runs a warm-up, then N rounds of a batch sized to take about 20 ms; it reports the
// median and the fastest round's time per operation. Under valgrind --tool=callgrind, the
// instructions of `--iterations 1001` minus those of `--iterations 1`, over 1000, are one
// operation's count: repeatable on a busy machine, where times are not.
import Contracts
import CrmCore
import Foundation
import RedisClient

/// Keeps a result alive so the optimizer cannot drop the work that made it.
@inline(never)
func consume<T>(_ value: T) { withExtendedLifetime(value) {} }

struct Case {
    let name: String
    let what: String
    let body: () throws -> Void
}

struct Measurement {
    let name: String
    let what: String
    let medianNanoseconds: Double
    let fastestNanoseconds: Double
    let operationsPerRound: Int
}

/// A lead.create envelope as clients send it: ten data fields of mixed types.
let sampleEnvelope = Envelope(
    id: "8c1f2a3e-5b7d-4e21-9a0c-3f6e1d2b4a59", type: MessageType.leadCreate, kind: .command, tenant: "acme", actor: "rep-17",
    occurredAt: "2026-11-25T03:10:00.123Z",
    payload: ["leadId": "L-100234", "data": [
        "name": "Ada Lovelace", "email": "ada@example.com", "company": "Analytical Engines Ltd", "score": 87, "budget": 125000.5,
        "region": "eu", "source": "webinar", "consent": true, "tags": ["priority", "q4", "enterprise"], "notes": "Met at the \"Engines\" booth; wants a demo.",
    ]])
let sampleBytes = sampleEnvelope.encoded()

/// What expressions read from a record: its stage, version and data fields.
struct SampleContext: ExpressionContext {
    let now = 1_795_000_000.0
    func value(of path: [String]) -> ExpressionValue {
        switch path {
        case ["stage"]: return .string("qualified")
        case ["version"]: return .number(7)
        case ["data", "score"]: return .number(87)
        case ["data", "region"]: return .string("eu")
        case ["data", "company"]: return .string("Analytical Engines Ltd")
        default: return .null
        }
    }
}
let expressionSchema = ExpressionSchema(["stage": .string, "version": .number, "data.score": .number, "data.region": .string, "data.company": .string])
let sampleExpression = try CompiledExpression.compile(
    "(data.score >= 50 and stage == 'qualified') or (data.region in ['eu', 'uk'] and len(data.company) < 40 and version > 2)",
    schema: expressionSchema)
let sampleContext = SampleContext()
let fiftyStages = SizedDefinition.chain(stages: 50)

/// An XREADGROUP reply of 64 entries of one stream, each an `envelope` field, as RESP bytes.
let sampleReply: [UInt8] = {
    let stream = "crm:{s0}:cmd:pipeline"
    var out = Array("*1\r\n*2\r\n$\(stream.utf8.count)\r\n\(stream)\r\n*64\r\n".utf8)
    for index in 0..<64 {
        let id = "1795000000000-\(index)"
        out += Array("*2\r\n$\(id.utf8.count)\r\n\(id)\r\n*2\r\n$8\r\nenvelope\r\n$\(sampleBytes.count)\r\n".utf8) + sampleBytes + Array("\r\n".utf8)
    }
    return out
}()

let cases = [
    Case(name: "envelope.decode", what: "read and check a lead.create envelope (\(sampleBytes.count) bytes)") {
        consume(try EnvelopeReader().read(sampleBytes))
    },
    Case(name: "envelope.encode", what: "encode that envelope as canonical JSON") {
        consume(sampleEnvelope.encoded())
    },
    Case(name: "expression.evaluate", what: "evaluate a 7-comparison condition against a record") {
        consume(sampleExpression.holds(sampleContext))
    },
    Case(name: "definition.compile", what: "compile a 50-stage, 98-transition definition") {
        consume(try CompiledDefinition.compile(fiftyStages, version: 1))
    },
    Case(name: "reply.parse", what: "parse a 64-entry XREADGROUP reply (\(sampleReply.count) bytes)") {
        consume(try RedisReplyParser.parse(sampleReply))
    },
]

func measure(_ benchmark: Case, rounds: Int) throws -> Measurement {
    let clock = ContinuousClock()
    // Warm-up, and the batch size: enough operations for about 20 ms per round.
    var perRound = 1
    while true {
        let started = clock.now
        for _ in 0..<perRound { try benchmark.body() }
        let took = clock.now - started
        if took >= .milliseconds(20) || perRound >= 1 << 24 { break }
        perRound *= 2
    }
    var times: [Double] = []
    for _ in 0..<rounds {
        let started = clock.now
        for _ in 0..<perRound { try benchmark.body() }
        times.append((clock.now - started).seconds * 1e9 / Double(perRound))
    }
    times.sort()
    return Measurement(name: benchmark.name, what: benchmark.what, medianNanoseconds: times[times.count / 2],
                       fastestNanoseconds: times[0], operationsPerRound: perRound)
}

var only: String?
var rounds = 15
var json = false
var iterations: Int?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--only": only = arguments.next()
    case "--rounds": rounds = max(1, Int(arguments.next() ?? "") ?? rounds)
    case "--json": json = true
    case "--iterations": iterations = Int(arguments.next() ?? "")
    default:
        FileHandle.standardError.write(Data("usage: crm-microbench [--only NAME] [--rounds N] [--json] [--iterations N]; cases: \(cases.map(\.name).joined(separator: ", "))\n".utf8))
        exit(2)
    }
}
let selected = cases.filter { only == nil || $0.name == only }
guard !selected.isEmpty else {
    FileHandle.standardError.write(Data("no case named \(only ?? ""); cases: \(cases.map(\.name).joined(separator: ", "))\n".utf8))
    exit(2)
}
if let iterations {
    for benchmark in selected {
        for _ in 0..<iterations { try benchmark.body() }
    }
    exit(0)
}
var results: [Measurement] = []
for benchmark in selected {
    results.append(try measure(benchmark, rounds: rounds))
    if !json {
        let result = results.last!
        print(String(format: "%-20@ %10.2f µs median %10.2f µs fastest   %@", result.name as NSString,
                     result.medianNanoseconds / 1000, result.fastestNanoseconds / 1000, result.what as NSString))
    }
}
if json {
    let rows: [JSONValue] = results.map { result in
        ["name": .string(result.name), "what": .string(result.what), "median_us": .number((result.medianNanoseconds / 10).rounded() / 100),
         "fastest_us": .number((result.fastestNanoseconds / 10).rounded() / 100), "ops_per_round": .integer(Int64(result.operationsPerRound))]
    }
    print(String(decoding: JSONValue.array(rows).compactJSON, as: UTF8.self))
}
