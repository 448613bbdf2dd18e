public import Foundation

/// scripts/webhook-receiver.py run for one test: a real HTTP receiver on a loopback port that checks
/// each request's signature and logs it as a JSON line.
public final class WebhookReceiver: @unchecked Sendable {
    public struct Request: Sendable {
        public let number: Int
        public let arrived: Double
        public let key: String?
        public let verified: Bool
        public let operation: String?
        public let attempt: String?
        public let body: String
        public let status: Int?
    }

    public let port: Int
    public let logFile: URL
    private let child: ChildProcess

    /// Starts a receiver; `arguments` are the script's behaviour flags (`--fail 3`, `--always 503`, …).
    public init(secret: String, arguments: [String] = []) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-webhook-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let portFile = directory.appendingPathComponent("port")
        logFile = directory.appendingPathComponent("requests.jsonl")
        let script = ServiceProcess.packageRoot.appendingPathComponent("scripts/webhook-receiver.py").path
        child = try ChildProcess(path: "/usr/bin/env", arguments: ["python3", script, "--secret", secret, "--port-file", portFile.path, "--log", logFile.path] + arguments,
                                 environment: ChildProcess.environment, outputPath: directory.appendingPathComponent("output").path)
        guard await eventually(timeout: .seconds(10), { FileManager.default.fileExists(atPath: portFile.path) }),
              let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) else {
            child.signal(SIGKILL)
            throw TestHarnessError.timedOut("the webhook receiver to listen")
        }
        self.port = port
    }

    deinit {
        child.signal(SIGKILL)
        child.waitBlocking()
    }

    public var url: String { "http://127.0.0.1:\(port)/hooks/crm" }

    /// Requests as they arrived (`phase` received), or as answered.
    public func requests(answered: Bool = false) -> [Request] {
        let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  (object["phase"] as? String) == (answered ? "answered" : "received") else { return nil }
            return Request(number: object["n"] as? Int ?? 0, arrived: object["arrived"] as? Double ?? 0, key: object["key"] as? String,
                           verified: object["verified"] as? Bool ?? false, operation: object["operation"] as? String,
                           attempt: object["attempt"] as? String, body: object["body"] as? String ?? "", status: object["status"] as? Int)
        }
    }
}
