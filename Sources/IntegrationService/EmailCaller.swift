import Contracts

/// Makes one email attempt: composes the message from the integration's templates and the call's
/// input, and hands it to the deployment's SMTP relay.
struct EmailCaller: Sendable {
    func call(_ call: CallDocument, config: IntegrationConfig) async -> Result<JSONValue?, CallFailure> {
        guard let host = config.smtpHost else { return .failure(.permanent("the integration names no SMTP relay")) }
        let message: EmailMessage
        switch EmailMessage.compose(call, config: config) {
        case .success(let composed): message = composed
        case .failure(let failure): return .failure(failure)
        }
        let client = SMTPClient(host: host, port: config.smtpPort ?? 25, timeoutMs: config.timeoutMs)
        if let failure = await client.send(message) { return .failure(failure) }
        let messageID = message.headers.first { $0.0 == "Message-ID" }?.1 ?? ""
        return .success(["messageId": .string(messageID), "recipients": .integer(Int64(message.to.count))])
    }
}
