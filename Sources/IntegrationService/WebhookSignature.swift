import Crypto
import Foundation

/// The signature a webhook receiver checks: `X-CRM-Signature: sha256=<hex>` where hex is the
/// lower-case HMAC-SHA256, keyed with the endpoint's secret, of `"<X-CRM-Timestamp>.<raw body>"`.
/// The timestamp (Unix seconds) is signed with the body so a captured request cannot be replayed
/// later; receivers refuse timestamps more than five minutes from their clock.
public enum WebhookSignature {
    public static let toleranceSeconds: Int64 = 300

    public static func sign(secret: [UInt8], timestamp: Int64, body: [UInt8]) -> String {
        let key = SymmetricKey(data: secret)
        let message = Array("\(timestamp).".utf8) + body
        let code = HMAC<SHA256>.authenticationCode(for: message, using: key)
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    /// What a receiver does: the signature matches (compared in constant time) and the timestamp is fresh.
    public static func verify(secret: [UInt8], timestamp: Int64, body: [UInt8], header: String, now: Int64) -> Bool {
        guard abs(now - timestamp) <= toleranceSeconds, header.hasPrefix("sha256=") else { return false }
        let expected = Array(sign(secret: secret, timestamp: timestamp, body: body).utf8)
        let given = Array(header.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
