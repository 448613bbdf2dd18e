import Contracts
import CrmKit
import Foundation
import Hummingbird
import HTTPTypes

/// Publishes a command as its caller and turns its outcome into an HTTP answer.
extension GatewayRoutes {
    enum Sent: Sendable {
        case accepted(Envelope)
        case rejected(Envelope, code: String, message: String, field: String?)
        /// No outcome within the wait: the command is on its stream and will still be handled.
        case pending(commandID: String)
        /// The envelope cannot be published at all (unknown type or version).
        case refused(code: String, message: String)
    }

    /// Publishes `type` with `payload` for the caller (the caller's tenant and user, never the body's)
    /// and waits up to `waitMilliseconds` for the outcome.
    func send(_ type: String, payload: JSONValue, caller: Caller, waitMilliseconds: Int? = nil) async throws -> Sent {
        try await send(Envelope(type: type, kind: .command, tenant: caller.tenant, actor: caller.user, payload: payload), waitMilliseconds: waitMilliseconds)
    }

    func send(_ envelope: Envelope, waitMilliseconds: Int? = nil) async throws -> Sent {
        guard CommandRouting.stream(forType: envelope.type) != nil else {
            return .refused(code: "unknown_type", message: "no command stream takes '\(envelope.type)'")
        }
        // A type or version no service knows would only reach a DLQ and leave the caller waiting.
        do {
            _ = try MessageCatalog.current.accept(envelope, consumer: "gateway")
        } catch {
            return .refused(code: error.reason, message: error.description)
        }
        let wait = min(max(waitMilliseconds ?? settings.outcomeWaitMilliseconds, 1), 60_000)
        try await client.publish(envelope)
        guard let result = try await client.awaitOutcome(commandID: envelope.id, tenant: envelope.tenant, timeout: .milliseconds(wait)) else {
            return .pending(commandID: envelope.id)
        }
        if result.accepted { return .accepted(result.outcome) }
        let payload = result.outcome.payload
        return .rejected(result.outcome, code: payload["code"]?.stringValue ?? "internal", message: payload["message"]?.stringValue ?? "",
                         field: payload["field"]?.stringValue)
    }

    /// 200 with `command.accepted`; a refusal as `{"error": {code, message, field}, "outcome": …}` with
    /// its status (409 conflict, 403, 404, 422, …); 202 with the command id while it is still being handled.
    func answer(_ sent: Sent) -> Response {
        switch sent {
        case .accepted(let outcome):
            return Responses.raw(.ok, outcome.encoded())
        case .rejected(let outcome, let code, let message, let field):
            var error: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
            if let field { error["field"] = .string(field) }
            let outcomeJSON = (try? JSONValue.parse(outcome.encoded())) ?? .null
            return Responses.json(Responses.status(forRejection: code), ["error": .object(error), "outcome": outcomeJSON])
        case .pending(let commandID):
            return Responses.json(.accepted, ["commandId": .string(commandID), "status": "pending",
                                              "message": "the command is on its stream; its outcome was not ready in time"])
        case .refused(let code, let message):
            return Responses.problem(.badRequest, code, message)
        }
    }

    /// The `wait` query parameter: how long the caller will wait for an outcome.
    func waitParameter(_ request: Request) -> Int? {
        request.uri.queryParameters.get("wait", as: Int.self)
    }
}
