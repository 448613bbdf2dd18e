import Contracts
import Foundation

/// What `integration.invoke` and `integration.compensate` ask for, read strictly from the payload.
struct CallRequest: Sendable {
    static let maxInputBytes = 256 * 1024

    let callId: String
    let integration: String
    let input: JSONValue
    let subject: String?
    let sagaId: String?
    let step: Int?

    init(_ payload: JSONValue) throws(PayloadError) {
        let reader = try PayloadReader(payload)
        try reader.allowOnly(["callId", "integration", "input", "subject", "sagaId", "step"])
        callId = try reader.string("callId", maxLength: 128, rule: Identifier.isMessageID, expected: "an id like C-1 (letters, digits, . _ -)")
        integration = try reader.string("integration", maxLength: 63, rule: IntegrationName.isValid, expected: "an integration name like webhook (a-z, 0-9, _ -)")
        guard let input = reader.fields["input"], case .object = input else {
            throw PayloadError(field: reader.at("input"), reason: reader.has("input") ? "must be an object" : "is required")
        }
        guard input.compactJSON.count <= Self.maxInputBytes else {
            throw PayloadError(field: reader.at("input"), reason: "is larger than \(Self.maxInputBytes) bytes")
        }
        self.input = input
        subject = try reader.optionalString("subject", maxLength: 160, rule: Self.isSubject, expected: "lead:<id> or opportunity:<id>")
        sagaId = try reader.optionalString("sagaId", maxLength: 128, rule: Identifier.isMessageID, expected: "an id (letters, digits, . _ -)")
        step = try reader.optionalInt("step", range: 0...Int64(Int32.max))
    }

    static func isSubject(_ text: String) -> Bool {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        return parts.count == 2 && ["lead", "opportunity"].contains(parts[0]) && Identifier.isMessageID(parts[1])
    }
}

/// What `integration.configure` asks for.
struct ConfigureRequest: Sendable {
    let name: String
    let kind: IntegrationConfig.Kind
    let url: String?
    let secret: String?
    let plugin: String?
    let memoryMb: Int?
    let email: EmailSettings?
    let timeoutMs: Int
    let maxConcurrency: Int
    let ratePerSecond: Double?

    init(_ payload: JSONValue, maxTimeoutMs: Int) throws(PayloadError) {
        let reader = try PayloadReader(payload)
        try reader.allowOnly(Set(["integration", "kind", "url", "secret", "plugin", "memoryMb", "timeoutMs", "maxConcurrency", "ratePerSecond"]).union(EmailSettings.fields))
        name = try reader.string("integration", maxLength: 63, rule: IntegrationName.isValid, expected: "an integration name like webhook (a-z, 0-9, _ -)")
        let kindName = try reader.optionalString("kind", maxLength: 32) ?? IntegrationConfig.Kind.webhook.rawValue
        guard let kind = IntegrationConfig.Kind(rawValue: kindName) else {
            throw PayloadError(field: reader.at("kind"), reason: "must be one of \(IntegrationConfig.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.kind = kind
        let own: Set<String> = kind == .webhook ? ["url", "secret"] : kind == .plugin ? ["plugin", "memoryMb"] : Set(EmailSettings.fields)
        for field in ["url", "secret", "plugin", "memoryMb"] + EmailSettings.fields where reader.has(field) && !own.contains(field) {
            throw PayloadError(field: reader.at(field), reason: "is not a setting of a \(kind.rawValue) integration")
        }
        email = kind == .email ? try EmailSettings(reader) : nil
        switch kind {
        case .email:
            url = nil
            secret = nil
            plugin = nil
            memoryMb = nil
        case .webhook:
            url = try reader.string("url", maxLength: 2000, rule: Self.isHTTPURL, expected: "an http:// or https:// URL with a host")
            secret = try reader.string("secret", maxLength: 512, rule: { $0.utf8.count >= 16 }, expected: "at least 16 bytes long")
            plugin = nil
            memoryMb = nil
        case .plugin:
            plugin = try reader.string("plugin", maxLength: 63, rule: IntegrationName.isValid, expected: "the name of an installed plugin (a-z, 0-9, _ -)")
            memoryMb = try reader.optionalInt("memoryMb", range: 16...4096)
            url = nil
            secret = nil
        }
        timeoutMs = try reader.optionalInt("timeoutMs", range: 100...Int64(maxTimeoutMs)) ?? min(kind == .webhook ? 10_000 : kind == .plugin ? 5000 : 30_000, maxTimeoutMs)
        maxConcurrency = try reader.optionalInt("maxConcurrency", range: 1...1024) ?? 4
        if let rate = try reader.optionalNumber("ratePerSecond") {
            guard rate >= 0.01, rate <= 100_000 else { throw PayloadError(field: reader.at("ratePerSecond"), reason: "must be between 0.01 and 100000") }
            ratePerSecond = rate
        } else {
            ratePerSecond = nil
        }
    }

    static func isHTTPURL(_ text: String) -> Bool {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else { return false }
        return components.user == nil && components.password == nil
    }
}

/// Integration names: `^[a-z][a-z0-9_-]{0,62}$`.
enum IntegrationName {
    static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, bytes.count <= 63, first >= UInt8(ascii: "a"), first <= UInt8(ascii: "z") else { return false }
        return bytes.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }
}

/// An email integration's settings: the SMTP relay, the sender and the templates.
struct EmailSettings: Sendable {
    static let fields = ["smtpHost", "smtpPort", "from", "subject", "body", "compensateSubject", "compensateBody"]

    let smtpHost: String
    let smtpPort: Int
    let from: String
    let subject: String
    let body: String
    let compensateSubject: String?
    let compensateBody: String?

    init(_ reader: PayloadReader) throws(PayloadError) {
        smtpHost = try reader.string("smtpHost", maxLength: 253, rule: { !$0.contains { $0.isWhitespace || $0 == "/" } }, expected: "a host name or address")
        smtpPort = try reader.optionalInt("smtpPort", range: 1...65_535) ?? 25
        from = try reader.string("from", maxLength: 254, rule: EmailMessage.isAddress, expected: "an email address")
        subject = try reader.string("subject", maxLength: 998)
        body = try reader.string("body", maxLength: 100_000)
        compensateSubject = try reader.optionalString("compensateSubject", maxLength: 998)
        compensateBody = try reader.optionalString("compensateBody", maxLength: 100_000)
    }
}
