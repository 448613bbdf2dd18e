/// Why a call failed, and whether trying again can help: timeouts, 5xx answers, 429 and refused or
/// broken connections can; 4xx answers, bad configuration and bad input cannot.
public struct CallFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public let retryable: Bool

    public init(_ reason: String, retryable: Bool) {
        self.reason = String(reason.prefix(500))
        self.retryable = retryable
    }

    public static func transient(_ reason: String) -> CallFailure { CallFailure(reason, retryable: true) }
    public static func permanent(_ reason: String) -> CallFailure { CallFailure(reason, retryable: false) }

    /// The failure an HTTP status means (nil for 2xx).
    public static func forHTTPStatus(_ status: Int) -> CallFailure? {
        switch status {
        case 200..<300: return nil
        case 408, 425, 429: return .transient("HTTP \(status)")
        case 500..<600: return .transient("HTTP \(status)")
        default: return .permanent("HTTP \(status)")
        }
    }

    public var description: String { "\(retryable ? "transient" : "permanent"): \(reason)" }
}
