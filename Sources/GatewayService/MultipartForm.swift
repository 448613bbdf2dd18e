import Foundation

/// A `multipart/form-data` body (RFC 7578) split into its parts: what the interaction upload and the
/// page forms with files send. Only what browsers and curl produce is understood; anything else is
/// a `MultipartError` naming what was wrong.
struct MultipartForm: Sendable {
    struct Part: Sendable {
        let name: String
        let filename: String?
        let contentType: String?
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    let parts: [Part]

    init(parts: [Part]) {
        self.parts = parts
    }

    func text(_ name: String) -> String? { parts.first { $0.name == name && $0.filename == nil }?.text }
    var files: [Part] { parts.filter { $0.filename != nil && !($0.filename ?? "").isEmpty } }

    /// The boundary of a `multipart/form-data; boundary=…` content type, or nil for another type.
    static func boundary(of contentType: String) -> String? {
        let pieces = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard pieces.first?.lowercased() == "multipart/form-data" else { return nil }
        for piece in pieces.dropFirst() where piece.lowercased().hasPrefix("boundary=") {
            var value = String(piece.dropFirst("boundary=".count))
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value.isEmpty ? nil : value
        }
        return nil
    }

    init(body: [UInt8], boundary: String) throws(MultipartError) {
        let delimiter = Array("--\(boundary)".utf8)
        var parts: [Part] = []
        guard var cursor = Self.find(delimiter, in: body, from: 0) else { throw .malformed("no part starts with the boundary") }
        cursor += delimiter.count
        while true {
            // "--" after a delimiter closes the body.
            if body.count >= cursor + 2, body[cursor] == UInt8(ascii: "-"), body[cursor + 1] == UInt8(ascii: "-") { break }
            guard body.count >= cursor + 2, body[cursor] == 13, body[cursor + 1] == 10 else { throw .malformed("a boundary is not followed by CRLF") }
            cursor += 2
            guard let headerEnd = Self.find([13, 10, 13, 10], in: body, from: cursor) else { throw .malformed("a part has no blank line after its headers") }
            let headers = String(decoding: body[cursor..<headerEnd], as: UTF8.self)
            let contentStart = headerEnd + 4
            guard let next = Self.find([13, 10] + delimiter, in: body, from: contentStart) else { throw .malformed("the body does not end with the closing boundary") }
            parts.append(try Self.part(headers: headers, body: Array(body[contentStart..<next])))
            cursor = next + 2 + delimiter.count
        }
        self.parts = parts
    }

    private static func part(headers: String, body: [UInt8]) throws(MultipartError) -> Part {
        var name: String?
        var filename: String?
        var contentType: String?
        for line in headers.split(separator: "\r\n") {
            let pair = line.split(separator: ":", maxSplits: 1)
            guard pair.count == 2 else { continue }
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            switch pair[0].lowercased() {
            case "content-disposition":
                for parameter in value.split(separator: ";").dropFirst() {
                    let item = parameter.trimmingCharacters(in: .whitespaces)
                    if item.hasPrefix("name=") { name = unquote(item.dropFirst(5)) }
                    if item.hasPrefix("filename=") { filename = unquote(item.dropFirst(9)) }
                }
            case "content-type": contentType = value
            default: continue
            }
        }
        guard let name, !name.isEmpty else { throw .malformed("a part has no name in its Content-Disposition") }
        return Part(name: name, filename: filename, contentType: contentType, body: body)
    }

    private static func unquote(_ text: Substring) -> String {
        var value = String(text)
        if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
        return value
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var index = start
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == needle[0], haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

enum MultipartError: Error, CustomStringConvertible {
    case malformed(String)
    var description: String {
        switch self {
        case .malformed(let why): return "malformed multipart/form-data: \(why)"
        }
    }
}
