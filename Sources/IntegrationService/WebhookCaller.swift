import Contracts
import Foundation
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Makes one webhook attempt: an HTTP POST of the call's input as JSON, signed (WebhookSignature),
/// carrying the call's idempotency key. URLSession runs the request on its own threads (libcurl on
/// Linux), never blocking Swift concurrency's pool; it needs no dependency beyond Foundation.
struct WebhookCaller: Sendable {
    static let maxOutputBytes = 64 * 1024
    private let session: URLSession

    init() {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration)
    }

    /// The receiver's answer as a JSON object (nil when it sent none), or why the attempt failed.
    func call(_ call: CallDocument, config: IntegrationConfig, attempt: Int) async -> Result<JSONValue?, CallFailure> {
        guard let url = config.url.flatMap(URL.init(string:)), let secret = config.secret else {
            return .failure(.permanent("the integration has no usable url and secret"))
        }
        let body = call.input.compactJSON
        let timestamp = Int64(Date().timeIntervalSince1970)
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: Double(config.timeoutMs) / 1000)
        request.httpMethod = "POST"
        request.httpBody = Data(body)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("nexus-crm-integration/1", forHTTPHeaderField: "User-Agent")
        request.setValue(String(timestamp), forHTTPHeaderField: "X-CRM-Timestamp")
        request.setValue(WebhookSignature.sign(secret: Array(secret.utf8), timestamp: timestamp, body: body), forHTTPHeaderField: "X-CRM-Signature")
        request.setValue(call.idempotencyKey, forHTTPHeaderField: "Idempotency-Key")
        request.setValue(call.operation.rawValue, forHTTPHeaderField: "X-CRM-Operation")
        request.setValue(call.callId, forHTTPHeaderField: "X-CRM-Call-Id")
        request.setValue(call.tenant, forHTTPHeaderField: "X-CRM-Tenant")
        request.setValue(String(attempt), forHTTPHeaderField: "X-CRM-Attempt")
        let (data, response, error, timedOut) = await perform(request, timeoutMs: config.timeoutMs)
        if timedOut { return .failure(.transient("no answer within \(config.timeoutMs) ms")) }
        if let error = error as? URLError { return .failure(Self.failure(for: error, timeoutMs: config.timeoutMs)) }
        if let error { return .failure(.transient("request failed: \(error)")) }
        guard let http = response as? HTTPURLResponse else { return .failure(.transient("no HTTP response")) }
        if let failure = CallFailure.forHTTPStatus(http.statusCode) { return .failure(failure) }
        let answer = data ?? Data()
        guard !answer.isEmpty, answer.count <= Self.maxOutputBytes, let output = try? JSONValue.parse(Array(answer)), case .object = output else {
            return .success(nil)
        }
        return .success(output)
    }

    /// Runs the request with a hard deadline: URLSession's own `timeoutInterval` is an idle timeout
    /// (and not kept on Linux), so a receiver that trickles or hangs is cut off here, by cancelling the task.
    private func perform(_ request: URLRequest, timeoutMs: Int) async -> (Data?, URLResponse?, (any Error)?, timedOut: Bool) {
        let timedOut = Mutex(false)
        let answer: (Data?, URLResponse?, (any Error)?) = await withCheckedContinuation { continuation in
            // URLSession calls the completion handler exactly once, also for a cancelled task.
            let task = session.dataTask(with: request) { data, response, error in continuation.resume(returning: (data, response, error)) }
            task.resume()
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(timeoutMs)) {
                guard task.state == .running else { return }
                timedOut.withLock { $0 = true }
                task.cancel()
            }
        }
        return (answer.0, answer.1, answer.2, timedOut.withLock { $0 })
    }

    /// Network errors that may pass (timeouts, refused or dropped connections, DNS) are transient;
    /// a URL the service cannot use is permanent.
    static func failure(for error: URLError, timeoutMs: Int) -> CallFailure {
        switch error.code {
        case .timedOut: return .transient("no answer within \(timeoutMs) ms")
        case .cannotConnectToHost: return .transient("connection refused")
        case .networkConnectionLost: return .transient("connection lost")
        case .cannotFindHost, .dnsLookupFailed: return .transient("host not found")
        case .badURL, .unsupportedURL: return .permanent("the url cannot be used (\(error.code.rawValue))")
        case .badServerResponse, .zeroByteResource: return .transient("bad or empty answer from the receiver")
        default: return .transient("network error \(error.code.rawValue)")
        }
    }
}
