import Contracts
import Testing

/// contracts/README.md §3: a rejected command names the offending field as a path,
/// `payload.definitionVersion`, `payload.stages[2].name`. FUN-CRM-0283 (data validation).
@Suite("PayloadReader")
struct PayloadReaderTests {
    static let definition: JSONValue = [
        "entity": "lead",
        "name": "Inbound",
        "stages": [["name": "new", "initial": true], ["name": 5], "not an object"],
        "tags": ["a", "b", 3],
        "count": 7,
        "flag": "yes",
        "nothing": .null,
    ]

    func reader(_ value: JSONValue = definition) throws -> PayloadReader {
        try PayloadReader(value)
    }

    /// The PayloadError `body` throws, nil when it throws nothing (any other error fails the test).
    func error(_ body: () throws -> Void) -> PayloadError? {
        do {
            try body()
            return nil
        } catch let error as PayloadError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test("a payload that is not an object is refused at path payload")
    func notAnObject() {
        #expect(error { _ = try PayloadReader([1, 2]) } == PayloadError(field: "payload", reason: "must be an object, not array"))
        #expect(error { _ = try PayloadReader("x", path: "payload.data") } == PayloadError(field: "payload.data", reason: "must be an object, not string"))
    }

    @Test("allowOnly names the first unknown field with its path")
    func allowOnly() throws {
        let payload = try reader(["leadId": "L-1", "data": ["name": "Ada", "colour": "red"], "zeta": 1, "extra": true])
        #expect(error { try payload.allowOnly(["leadId", "data"]) } == PayloadError(field: "payload.extra", reason: "is not a known field"))
        #expect(error { try payload.allowOnly(["leadId", "data", "extra", "zeta"]) } == nil)
        let data = try #require(try payload.optionalObject("data"))
        #expect(data.path == "payload.data")
        #expect(error { try data.allowOnly(["name"]) } == PayloadError(field: "payload.data.colour", reason: "is not a known field"))
    }

    @Test("a missing or null required field is 'is required'")
    func missingRequired() throws {
        let payload = try reader()
        #expect(error { _ = try payload.string("leadId") } == PayloadError(field: "payload.leadId", reason: "is required"))
        #expect(error { _ = try payload.string("nothing") } == PayloadError(field: "payload.nothing", reason: "is required"))
        #expect(error { _ = try payload.array("missing") } == PayloadError(field: "payload.missing", reason: "is required"))
        #expect(try payload.array("missing", required: false) == [])
        #expect(try payload.optionalString("leadId") == nil)
        #expect(try payload.optionalInt("nothing") == nil)
        #expect(try payload.optionalBool("nothing") == nil)
        #expect(try payload.optionalObject("nothing") == nil)
        #expect(payload.has("count"))
        #expect(!payload.has("nothing"))
        #expect(!payload.has("leadId"))
    }

    @Test("values of the right type are read")
    func readsValues() throws {
        let payload = try reader()
        #expect(try payload.string("entity") == "lead")
        #expect(try payload.optionalInt("count") == 7)
        let flags = try PayloadReader(["on": true, "off": false])
        #expect(try flags.optionalBool("on") == true)
        #expect(try flags.optionalBool("off") == false)
        let nested = try #require(try PayloadReader(["data": ["score": 72]]).optionalObject("data"))
        #expect(nested.fields == ["score": 72])
        #expect(nested.at("score") == "payload.data.score")
    }

    @Test("wrong types name the field's path, including array indexes")
    func wrongTypes() throws {
        let payload = try reader()
        #expect(error { _ = try payload.string("count") } == PayloadError(field: "payload.count", reason: "must be a string, not integer"))
        #expect(error { _ = try payload.optionalInt("entity") } == PayloadError(field: "payload.entity", reason: "must be an integer, not string"))
        #expect(error { _ = try payload.optionalBool("flag") } == PayloadError(field: "payload.flag", reason: "must be a boolean, not string"))
        #expect(error { _ = try payload.array("name") } == PayloadError(field: "payload.name", reason: "must be an array, not string"))
        #expect(error { _ = try payload.optionalObject("tags") } == PayloadError(field: "payload.tags", reason: "must be an object, not array"))
        // The third stage is a string: objects() names it.
        #expect(error { _ = try payload.objects("stages") } == PayloadError(field: "payload.stages[2]", reason: "must be an object, not string"))
        // The second stage's name is a number: the path goes through the index.
        let stages = try PayloadReader(["stages": [["name": "new"], ["name": 5]]]).objects("stages")
        #expect(stages.map(\.path) == ["payload.stages[0]", "payload.stages[1]"])
        #expect(try stages[0].string("name") == "new")
        #expect(error { _ = try stages[1].string("name") } == PayloadError(field: "payload.stages[1].name", reason: "must be a string, not integer"))
        // strings() names the offending item.
        #expect(error { _ = try payload.strings("tags", rule: { !$0.isEmpty }, expected: "a tag") }
            == PayloadError(field: "payload.tags[2]", reason: "must be a tag"))
        #expect(try PayloadReader(["tags": ["a", "b"]]).strings("tags", rule: { !$0.isEmpty }, expected: "a tag") == ["a", "b"])
    }

    @Test("string rules: not empty, at most maxLength UTF-8 bytes, and the given rule")
    func stringLimits() throws {
        let payload = try reader(["five": "abcde", "six": "abcdef", "accents": "ééé", "empty": "", "upper": "ABC"])
        #expect(try payload.string("five", maxLength: 5) == "abcde")
        #expect(error { _ = try payload.string("six", maxLength: 5) } == PayloadError(field: "payload.six", reason: "is longer than 5 bytes"))
        #expect(error { _ = try payload.string("accents", maxLength: 5) } == PayloadError(field: "payload.accents", reason: "is longer than 5 bytes"),
                "three characters, six bytes")
        #expect(try payload.string("accents", maxLength: 6) == "ééé")
        #expect(error { _ = try payload.string("empty") } == PayloadError(field: "payload.empty", reason: "must not be empty"))
        #expect(error { _ = try payload.string("upper", rule: Identifier.isTenant, expected: "a tenant") }
            == PayloadError(field: "payload.upper", reason: "must be a tenant"))
        #expect(try payload.string("five", rule: Identifier.isTenant, expected: "a tenant") == "abcde")
    }

    @Test("integers must lie in their range (default 1…Int32.max)")
    func integerRanges() throws {
        let payload = try reader(["zero": 0, "one": 1, "max": .integer(Int64(Int32.max)), "over": .integer(Int64(Int32.max) + 1),
                                  "eleven": 11, "half": 1.5, "negative": -3])
        #expect(try payload.optionalInt("one") == 1)
        #expect(try payload.optionalInt("max") == Int(Int32.max))
        #expect(error { _ = try payload.optionalInt("zero") } == PayloadError(field: "payload.zero", reason: "must be between 1 and 2147483647"))
        #expect(error { _ = try payload.optionalInt("over") } == PayloadError(field: "payload.over", reason: "must be between 1 and 2147483647"))
        #expect(error { _ = try payload.optionalInt("negative") }?.field == "payload.negative")
        #expect(try payload.optionalInt("zero", range: 0...10) == 0)
        #expect(error { _ = try payload.optionalInt("eleven", range: 0...10) } == PayloadError(field: "payload.eleven", reason: "must be between 0 and 10"))
        #expect(error { _ = try payload.optionalInt("half") } == PayloadError(field: "payload.half", reason: "must be an integer, not number"))
    }

    @Test("arrays are limited to maxCount items")
    func arrayCount() throws {
        let payload = try reader(["items": [1, 2, 3]])
        #expect(try payload.array("items", maxCount: 3).count == 3)
        #expect(error { _ = try payload.array("items", maxCount: 2) } == PayloadError(field: "payload.items", reason: "has more than 2 items"))
        #expect(error { _ = try payload.objects("items", maxCount: 2) }?.reason == "has more than 2 items")
    }

    @Test("a PayloadError becomes an invalid_payload rejection carrying the field")
    func rejection() {
        let rejection = Rejection(PayloadError(field: "payload.stages[1].name", reason: "must be a string, not integer"))
        #expect(rejection.code == .invalidPayload)
        #expect(rejection.field == "payload.stages[1].name")
        #expect(rejection.message == "payload.stages[1].name must be a string, not integer")
        #expect(rejection.description == "invalid_payload: payload.stages[1].name must be a string, not integer")
    }
}
