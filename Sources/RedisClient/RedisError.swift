/// Everything that can go wrong talking to Redis, with what a caller needs to decide whether to retry.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection could be made (refused, unknown host, missing socket…).
    case connectionFailed(endpoint: String, reason: String)
    /// An established connection broke (EOF, reset, I/O error); the command's effect is unknown.
    case connectionLost(endpoint: String, reason: String)
    /// The socket timed out waiting for a reply; the connection is dropped.
    case timeout(endpoint: String, command: String)
    /// The server answered with an error reply, e.g. `WRONGTYPE …` or `NOSCRIPT …`.
    case server(code: String, message: String)
    /// hiredis could not parse the server's bytes.
    case protocolError(String)
    /// The reply had another shape than the command promises.
    case unexpectedReply(command: String, expected: String, got: String)
    /// The connection or pool was closed by its owner.
    case closed
    /// No pooled connection became free within the wait timeout.
    case poolExhausted(waitedMilliseconds: Int)
    /// The configuration (URL, options) is unusable.
    case invalidConfiguration(String)
    /// Cluster: a multi-key command (or transaction) whose keys live in different slots; refused
    /// before sending. Retrying cannot help: the keys need a common hash tag.
    case crossSlot(command: String, keys: [String])
    /// Cluster: a command was redirected (MOVED/ASK) too many times in a row; the slot map keeps
    /// changing (a resharding in progress). Retrying after a pause can help.
    case redirectLoop(command: String, redirects: Int)
    /// Cluster: no node could tell the slot map, or a slot has no reachable primary (failover in
    /// progress, cluster down). Retrying after a pause can help.
    case clusterUnavailable(reason: String)

    /// Whether trying again (after a pause) can help.
    public var isRetryable: Bool {
        switch self {
        case .connectionFailed, .connectionLost, .timeout, .poolExhausted, .redirectLoop, .clusterUnavailable:
            return true
        case .server(let code, _):
            return ["LOADING", "BUSY", "TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "READONLY"].contains(code)
        case .protocolError, .unexpectedReply, .closed, .invalidConfiguration, .crossSlot:
            return false
        }
    }

    public var description: String {
        switch self {
        case .connectionFailed(let endpoint, let reason): return "cannot connect to Redis at \(endpoint): \(reason)"
        case .connectionLost(let endpoint, let reason): return "connection to Redis at \(endpoint) lost: \(reason)"
        case .timeout(let endpoint, let command): return "Redis at \(endpoint) did not answer \(command) in time"
        case .server(_, let message): return "Redis error: \(message)"
        case .protocolError(let reason): return "Redis protocol error: \(reason)"
        case .unexpectedReply(let command, let expected, let got): return "\(command): expected \(expected), got \(got)"
        case .closed: return "the Redis connection is closed"
        case .poolExhausted(let waited): return "no Redis connection became free within \(waited) ms"
        case .invalidConfiguration(let reason): return "invalid Redis configuration: \(reason)"
        case .crossSlot(let command, let keys):
            return "\(command) refused: its keys \(keys) hash to different cluster slots (give them one hash tag)"
        case .redirectLoop(let command, let redirects): return "\(command) was redirected \(redirects) times; the cluster slot map keeps changing"
        case .clusterUnavailable(let reason): return "Redis Cluster unavailable: \(reason)"
        }
    }

    /// Builds a `.server` error from an error reply's text (as a pipeline returns it); the code is its first word.
    public static func fromReplyText(_ message: String) -> RedisError { fromReply(message) }

    /// Builds a `.server` error from an error reply's text; the code is its first word.
    static func fromReply(_ message: String) -> RedisError {
        let code = message.split(separator: " ", maxSplits: 1).first.map(String.init) ?? "ERR"
        return .server(code: code, message: message)
    }
}
