import Contracts
import Foundation
import Testing

@Suite("JSONValue parsing")
struct JSONValueTests {
    @Test("the fast parser keeps every JSON type apart, as the Codable path does")
    func typesSurvive() throws {
        let text = #"{"t":true,"f":false,"i":1,"z":0,"n":-5,"d":1.5,"e":1e3,"big":9007199254740993,"s":"x\u00e9","nul":null,"a":[1,"b",false],"o":{"k":2.5}}"#
        let parsed = try JSONValue.parse(Array(text.utf8))
        #expect(parsed == [
            "t": true, "f": false, "i": 1, "z": 0, "n": -5, "d": 1.5, "e": 1000.0, "big": .integer(9_007_199_254_740_993),
            "s": "xé", "nul": nil, "a": [1, "b", false], "o": ["k": 2.5],
        ])
        // A double with no fraction is written as an integer (1000.0 → 1000); everything else round-trips.
        let stable = JSONValue.object((parsed.objectValue ?? [:]).filter { $0.key != "e" })
        #expect(try JSONValue.parse(stable.compactJSON) == stable)
    }

    @Test(arguments: ["", "{", "[1,", "{\"a\":}", "nul", "\"unterminated"])
    func refusesBrokenJSON(_ text: String) {
        #expect(throws: (any Error).self) { try JSONValue.parse(Array(text.utf8)) }
    }
}

@Suite("Timestamp arithmetic")
struct TimestampArithmeticTests {
    @Test(arguments: ["2026-11-24T21:00:00.123Z", "2024-02-29T23:59:59Z", "1970-01-01T00:00:00Z", "2000-03-01T12:34:56.789012Z", "1999-12-31T23:59:59.5Z"])
    func matchesFoundation(_ text: String) throws {
        let ours = try #require(Timestamp.parse(text))
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: text.contains("."), timeZone: .gmt)
        let foundation = try style.parse(text)
        #expect(abs(ours.timeIntervalSince1970 - foundation.timeIntervalSince1970) < 0.001)
    }
}
