/// Why an inbound stream entry cannot be handled. Each case maps to a DLQ `reason` code.
public enum EnvelopeError: Error, Sendable, Equatable, CustomStringConvertible {
    case malformedJSON(detail: String)
    case tooLarge(bytes: Int, limit: Int)
    case invalidEnvelope(field: String, reason: String)
    case unsupportedVersion(type: String, version: Int, supported: ClosedRange<Int>)
    case unknownType(type: String, consumer: String)
    case wrongStream(detail: String)
    case wrongShard(tenant: String, expected: Int, actual: Int)

    /// The DLQ `reason` code (see contracts/README.md).
    public var reason: String {
        switch self {
        case .malformedJSON: return "malformed_json"
        case .tooLarge: return "too_large"
        case .invalidEnvelope: return "invalid_envelope"
        case .unsupportedVersion: return "unsupported_version"
        case .unknownType: return "unknown_type"
        case .wrongStream: return "wrong_stream"
        case .wrongShard: return "wrong_shard"
        }
    }

    public var description: String {
        switch self {
        case .malformedJSON(let detail): return "the envelope is not valid JSON: \(detail)"
        case .tooLarge(let bytes, let limit): return "the envelope is \(bytes) bytes, over the limit of \(limit) bytes (CRM_MAX_ENVELOPE_BYTES)"
        case .invalidEnvelope(let field, let reason): return "envelope field '\(field)' \(reason)"
        case .unsupportedVersion(let type, let version, let supported):
            return "\(type) version \(version) is not supported; this reader knows versions \(supported.lowerBound)…\(supported.upperBound)"
        case .unknownType(let type, let consumer): return "\(consumer) does not handle messages of type '\(type)'"
        case .wrongStream(let detail): return detail
        case .wrongShard(let tenant, let expected, let actual):
            return "tenant '\(tenant)' belongs to shard \(expected), but the message was written to shard \(actual)"
        }
    }
}
