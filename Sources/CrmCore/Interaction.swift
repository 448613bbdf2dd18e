/// A call, email, meeting or note against a contact, lead or opportunity (USE-CRM-0558), with files.
public struct Interaction: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case call, email, meeting, note
    }

    public let id: String
    public let kind: Kind
    /// The record it is about: `lead:L-1`, `opportunity:O-1`, `contact:C-1`.
    public let subject: String
    public let notes: String
    public let attachments: [Attachment]
    public let loggedBy: String
    public let loggedAt: String

    public init(id: String, kind: Kind, subject: String, notes: String, attachments: [Attachment], loggedBy: String, loggedAt: String) {
        self.id = id
        self.kind = kind
        self.subject = subject
        self.notes = notes
        self.attachments = attachments
        self.loggedBy = loggedBy
        self.loggedAt = loggedAt
    }
}

/// A file of an interaction, described by its checksum; the bytes are stored apart, under the checksum.
public struct Attachment: Sendable, Hashable, Codable {
    public let name: String
    public let contentType: String
    public let size: Int
    /// Lower-case hex SHA-256 of the bytes; checked again whenever they are read back.
    public let sha256: String

    public init(name: String, contentType: String, size: Int, sha256: String) {
        self.name = name
        self.contentType = contentType
        self.size = size
        self.sha256 = sha256
    }
}

public enum InteractionRules {
    /// Largest attachment accepted; the envelope limit (1 MiB by default) bounds their sum.
    public static let maxAttachmentBytes = 512 * 1024
    public static let maxAttachments = 10
    static let allowedTypes: Set<String> = [
        "text/plain", "text/csv", "application/pdf", "image/png", "image/jpeg", "application/json",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "message/rfc822",
    ]

    /// Checks one attachment's description; `index` names it in the error.
    public static func check(name: String, contentType: String, size: Int, index: Int) -> DomainRejection? {
        let field = "payload.attachments[\(index)]"
        if name.isEmpty || name.utf8.count > 200 || name.contains("/") || name.contains("\\") {
            return DomainRejection(code: "invalid_payload", message: "an attachment name is 1–200 bytes without '/' or '\\'", field: "\(field).name")
        }
        if !allowedTypes.contains(contentType) {
            return DomainRejection(code: "invalid_payload", message: "content type '\(contentType)' is not accepted; accepted: \(allowedTypes.sorted().joined(separator: ", "))",
                                   field: "\(field).contentType")
        }
        if size > maxAttachmentBytes {
            return DomainRejection(code: "too_large", message: "the attachment is \(size) bytes, over the limit of \(maxAttachmentBytes) bytes", field: "\(field).content")
        }
        return nil
    }
}
