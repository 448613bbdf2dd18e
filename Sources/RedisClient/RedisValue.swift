/// One reply from the server, copied out of hiredis' reply tree (RESP2).
public enum RedisValue: Sendable, Hashable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case bulkString([UInt8])
    case null
    case array([RedisValue])

    /// The value as text when it is a simple or bulk string (bulk strings decoded as UTF-8, lossily).
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    /// The raw bytes of a bulk or simple string.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): return bytes
        case .simpleString(let text): return Array(text.utf8)
        default: return nil
        }
    }

    public var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .bulkString, .simpleString: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    public var array: [RedisValue]? {
        if case .array(let values) = self { return values }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A short description of the reply's kind, for error messages.
    public var kindName: String {
        switch self {
        case .simpleString: return "simple string"
        case .error: return "error"
        case .integer: return "integer"
        case .bulkString: return "bulk string"
        case .null: return "nil"
        case .array: return "array"
        }
    }
}
