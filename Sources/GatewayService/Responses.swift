import Contracts
import Hummingbird
import HTTPTypes
import NIOCore

/// The gateway's answers: JSON bodies and `{"error": {"code", "message", "field"}}` problems.
enum Responses {
    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response { raw(status, value.compactJSON) }

    /// An error the client can act on: a stable code, a sentence, and the field at fault when there is one.
    static func problem(_ status: HTTPResponse.Status, _ code: String, _ message: String, field: String? = nil) -> Response {
        var error: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let field { error["field"] = .string(field) }
        return json(status, ["error": .object(error)])
    }

    static func raw(_ status: HTTPResponse.Status, _ bytes: [UInt8], contentType: String = "application/json") -> Response {
        var headers = HTTPFields()
        headers[.contentType] = contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func html(_ status: HTTPResponse.Status, _ text: String, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = "text/html; charset=utf-8"
        // Pages load nothing from elsewhere and may not be framed (clickjacking).
        headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    /// The HTTP status of a command refusal: version conflicts are 409, missing records 404, refusals
    /// of the actor 403, an oversized payload 413, any other rule 422.
    static func status(forRejection code: String) -> HTTPResponse.Status {
        switch code {
        case "conflict": return .conflict
        case "not_found": return .notFound
        case "forbidden", "forbidden_self_assignment", "forbidden_self_approval", "not_an_approver": return .forbidden
        case "too_large": return .contentTooLarge
        default: return .unprocessableContent
        }
    }
}
