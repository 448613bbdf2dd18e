import Contracts
import Foundation

/// Test helpers shared by the Contracts suites.
enum Fixture {
    /// The package root, found from this file's path (Tests/ContractsTests/TestHelpers.swift).
    static let packageRoot: URL = URL(filePath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The raw bytes of one file of contracts/v1/examples.
    static func example(_ name: String) throws -> [UInt8] {
        let url = packageRoot.appending(path: "contracts/v1/examples/\(name)")
        return Array(try Data(contentsOf: url))
    }

    /// The top-level fields of an example envelope, to mutate one at a time.
    static func exampleFields(_ name: String) throws -> [String: JSONValue] {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(try example(name)))
        guard case .object(let fields) = value else { throw FixtureError.notAnObject(name) }
        return fields
    }

    /// JSON bytes of a value (keys sorted so failures are readable).
    static func bytes(_ value: JSONValue) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try! encoder.encode(value))
    }

    static func bytes(_ fields: [String: JSONValue]) -> [UInt8] { bytes(.object(fields)) }

    /// A valid command envelope built in code, with fixed id and time.
    static func command(type: String = "lead.create", version: Int = 1, kind: MessageKind = .command, tenant: String = "acme",
                        correlationId: String? = nil, payload: JSONValue = ["leadId": "L-1"]) -> Envelope {
        Envelope(id: "cmd-1", type: type, version: version, kind: kind, tenant: tenant, actor: "u-17",
                 correlationId: correlationId, occurredAt: "2026-11-24T21:00:00.123Z", payload: payload)
    }
}

enum FixtureError: Error {
    case notAnObject(String)
}

/// Reads bytes and returns the error, or nil when they were accepted.
func readError(_ bytes: [UInt8], maxBytes: Int = EnvelopeReader.defaultMaxBytes) -> EnvelopeError? {
    do {
        _ = try EnvelopeReader(maxBytes: maxBytes).read(bytes)
        return nil
    } catch {
        return error
    }
}

extension EnvelopeError {
    /// The field of an `invalidEnvelope` error, nil for every other case.
    var invalidField: String? {
        if case .invalidEnvelope(let field, _) = self { return field }
        return nil
    }

    var isMalformedJSON: Bool {
        if case .malformedJSON = self { return true }
        return false
    }
}
