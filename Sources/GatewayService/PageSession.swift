import CrmRedis
import Foundation
import Hummingbird
import HTTPTypes

/// A logged-in page visitor: the API key's caller, and the CSRF token their forms carry.
struct PageSession: Sendable {
    static let cookieName = "crm_session"

    let caller: Caller
    /// Derived from the secret key itself, so only a page rendered for this key knows it.
    let csrf: String

    init(caller: Caller, key: String) {
        self.caller = caller
        self.csrf = Checksum.sha256(Array("csrf|\(key)".utf8))
    }

    var layout: [String: Any] { ["user": caller.user, "tenant": caller.tenant, "csrf": csrf] }

    /// `HttpOnly` (no script reads the key) and `SameSite=Strict` (no other site's page sends it).
    static func setCookie(_ key: String) -> String {
        "\(cookieName)=\(key); Path=/; HttpOnly; SameSite=Strict; Max-Age=28800"
    }

    static let clearCookie = "\(cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
}

/// A posted form: `application/x-www-form-urlencoded` or `multipart/form-data`.
struct PostedForm: Sendable {
    var values: [String: String] = [:]
    var files: [MultipartForm.Part] = []

    subscript(name: String) -> String? { values[name] }

    /// The trimmed value, or nil when empty.
    func text(_ name: String) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    static func urlEncoded(_ bytes: [UInt8]) -> PostedForm {
        var form = PostedForm()
        for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            if let name = parts.first, form.values[name] == nil { form.values[name] = parts.count > 1 ? parts[1] : "" }
        }
        return form
    }

    static func multipart(_ parsed: MultipartForm) -> PostedForm {
        var form = PostedForm()
        for part in parsed.parts where part.filename == nil { if form.values[part.name] == nil { form.values[part.name] = part.text } }
        form.files = parsed.files
        return form
    }
}
