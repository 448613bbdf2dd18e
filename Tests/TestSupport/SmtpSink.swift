public import Foundation

/// scripts/smtp-sink.py (aiosmtpd) run for one test: a real SMTP server on a loopback port that logs
/// each message as a JSON line.
public final class SmtpSink: @unchecked Sendable {
    public struct Message: Sendable {
        public let to: [String]
        public let headers: [String: String]
        public let body: String
        public let accepted: Bool
    }

    public let port: Int
    public let logFile: URL
    private let child: ChildProcess

    public init(arguments: [String] = []) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("crm-smtp-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let portFile = directory.appendingPathComponent("port")
        logFile = directory.appendingPathComponent("messages.jsonl")
        let script = ServiceProcess.packageRoot.appendingPathComponent("scripts/smtp-sink.py").path
        child = try ChildProcess(path: "/usr/bin/env", arguments: ["python3", script, "--port-file", portFile.path, "--log", logFile.path] + arguments,
                                 environment: ChildProcess.environment, outputPath: directory.appendingPathComponent("output").path)
        guard await eventually(timeout: .seconds(10), { FileManager.default.fileExists(atPath: portFile.path) }),
              let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) else {
            child.signal(SIGKILL)
            let output = (try? String(contentsOf: directory.appendingPathComponent("output"), encoding: .utf8)) ?? ""
            throw TestHarnessError.timedOut("the SMTP sink to listen (is aiosmtpd installed? make deps installs it): \(output)")
        }
        self.port = port
    }

    deinit {
        child.signal(SIGKILL)
        child.waitBlocking()
    }

    public func messages() -> [Message] {
        let text = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return Message(to: object["to"] as? [String] ?? [], headers: object["headers"] as? [String: String] ?? [:],
                           body: object["body"] as? String ?? "", accepted: object["accepted"] as? Bool ?? false)
        }
    }
}
