public import Contracts
import Crypto
import Foundation

/// A templated email, composed from an integration's templates and a call's input: `{{name}}` (or a
/// dotted path, `{{lead.name}}`) is replaced by that value of the input. Everything that reaches a
/// header is kept to one line, so input cannot add headers.
public struct EmailMessage: Sendable, Equatable {
    public let from: String
    public let to: [String]
    public let subject: String
    public let body: String
    public let headers: [(String, String)]

    public static func == (lhs: EmailMessage, rhs: EmailMessage) -> Bool {
        lhs.from == rhs.from && lhs.to == rhs.to && lhs.subject == rhs.subject && lhs.body == rhs.body
            && lhs.headers.map { "\($0.0): \($0.1)" } == rhs.headers.map { "\($0.0): \($0.1)" }
    }

    /// The message for one call, or why it cannot be composed (never worth retrying).
    static func compose(_ call: CallDocument, config: IntegrationConfig) -> Result<EmailMessage, CallFailure> {
        guard let from = config.from, let subjectTemplate = config.subject, let bodyTemplate = config.body else {
            return .failure(.permanent("the integration has no from, subject and body"))
        }
        let recipients: [String]
        switch call.input["to"] {
        case .string(let one)?: recipients = [one]
        case .array(let many)?: recipients = many.compactMap(\.stringValue)
        default: return .failure(.permanent("input.to must name the recipients (a string or a list of strings)"))
        }
        guard !recipients.isEmpty, recipients.count <= 50, recipients.allSatisfy(isAddress) else {
            return .failure(.permanent("input.to must hold 1 to 50 email addresses"))
        }
        let compensating = call.operation == .compensate
        let subject: String
        let body: String
        do {
            subject = oneLine(try render(compensating ? config.compensateSubject ?? "Correction: \(subjectTemplate)" : subjectTemplate, with: call.input))
            body = try render(compensating ? config.compensateBody ?? "Please disregard our previous message.\n\n\(bodyTemplate)" : bodyTemplate, with: call.input)
        } catch {
            return .failure(error)
        }
        // The Message-ID follows from the idempotency key: every attempt sends the same message,
        // so a mailbox that already has it can drop the copy.
        let digest = SHA256.hash(data: Array("\(call.tenant)/\(call.idempotencyKey)".utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
        let headers: [(String, String)] = [
            ("From", from), ("To", recipients.joined(separator: ", ")), ("Subject", subject), ("Date", rfc5322Date(Date())),
            ("Message-ID", "<\(digest)@nexus-crm>"), ("X-CRM-Idempotency-Key", oneLine(call.idempotencyKey)),
            ("X-CRM-Operation", call.operation.rawValue), ("X-CRM-Call-Id", call.callId), ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Transfer-Encoding", "8bit"),
        ]
        return .success(EmailMessage(from: from, to: recipients, subject: subject, body: body, headers: headers))
    }

    /// The DATA of the message: headers, a blank line, the body with CRLF line ends and leading dots doubled.
    public var data: [UInt8] {
        var text = headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"
        for line in body.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false) {
            text += (line.hasPrefix(".") ? "." : "") + line + "\r\n"
        }
        return Array(text.utf8)
    }

    /// Replaces each `{{path}}` by the input's value there; a path the input lacks fails the call.
    public static func render(_ template: String, with input: JSONValue) throws(CallFailure) -> String {
        var output = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                output += rest[open.lowerBound...]
                return output
            }
            let path = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            var value: JSONValue? = input
            for part in path.split(separator: ".") { value = value?[String(part)] }
            switch value {
            case .string(let text)?: output += text
            case .integer(let number)?: output += String(number)
            case .number(let number)?: output += String(number)
            case .bool(let flag)?: output += String(flag)
            default: throw CallFailure.permanent("the template names {{\(path)}}, which the input lacks")
            }
            rest = rest[close.upperBound...]
        }
        return output + rest
    }

    static func isAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && text.utf8.count <= 254
            && !text.contains { $0.isWhitespace || "<>,;\"()[]\\".contains($0) }
    }

    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 }.prefix(998))
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}
