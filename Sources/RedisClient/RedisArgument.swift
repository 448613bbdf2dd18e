/// Something that can be sent as one binary-safe argument of a command.
public protocol RedisArgumentConvertible: Sendable {
    var redisBytes: [UInt8] { get }
}

extension String: RedisArgumentConvertible {
    public var redisBytes: [UInt8] { Array(utf8) }
}

extension Substring: RedisArgumentConvertible {
    public var redisBytes: [UInt8] { Array(utf8) }
}

extension Array: RedisArgumentConvertible where Element == UInt8 {
    public var redisBytes: [UInt8] { self }
}

extension Int: RedisArgumentConvertible {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Int64: RedisArgumentConvertible {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

/// A command as its argv: the name first, then the arguments, each as raw bytes.
public struct RedisCommand: Sendable, CustomStringConvertible {
    public var arguments: [[UInt8]]

    public init(_ name: String, _ arguments: [any RedisArgumentConvertible] = []) {
        self.arguments = [Array(name.utf8)] + arguments.map(\.redisBytes)
    }

    public init(argv: [[UInt8]]) {
        precondition(!argv.isEmpty, "a command needs a name")
        self.arguments = argv
    }

    /// The command's name (upper-cased), safe to log: arguments may hold customer data.
    public var name: String { String(decoding: arguments[0], as: UTF8.self).uppercased() }

    public var description: String { name }
}
