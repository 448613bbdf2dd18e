public import Foundation

/// One of the project's real executables, run as a child process with its log in a file.
public final class ServiceProcess: @unchecked Sendable {
    public let name: String
    public let logFile: URL
    private let child: ChildProcess

    /// Starts `binary` (a product name such as `pipeline-service`) with the given environment additions.
    public init(_ binary: String, arguments: [String] = [], environment: [String: String], logDirectory: URL) throws {
        let path = ServiceProcess.binaryDirectory.appendingPathComponent(binary).path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw TestHarnessError.binaryMissing(path) }
        name = binary
        logFile = logDirectory.appendingPathComponent("\(binary)-\(UUID().uuidString.prefix(6)).log")
        child = try ChildProcess(path: path, arguments: arguments, environment: ChildProcess.environment.merging(environment) { $1 }, outputPath: logFile.path)
    }

    public var pid: Int32 { child.pid }
    public var isRunning: Bool { child.isRunning }

    public func signal(_ signal: Int32) { child.signal(signal) }

    /// Waits for the process to exit and returns its status (128 + signal when killed), or nil on timeout.
    public func waitForExit(timeout: Duration = .seconds(15)) async -> Int32? {
        await child.waitForExit(timeout: timeout)
    }

    public var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// Waits until the log contains `text` (e.g. the "ready" line).
    public func waitForLog(_ text: String, timeout: Duration = .seconds(15)) async -> Bool {
        await eventually(timeout: timeout) { self.log.contains(text) }
    }

    /// Runs one of the project's binaries to completion and returns its exit status and output (stdout + stderr).
    public static func run(_ binary: String, arguments: [String], environment: [String: String], input: Data? = nil, timeout: Duration = .seconds(30)) async throws -> (status: Int32, output: String) {
        let path = binaryDirectory.appendingPathComponent(binary).path
        guard FileManager.default.isExecutableFile(atPath: path) else { throw TestHarnessError.binaryMissing(path) }
        return try await runTool(path, arguments: arguments, environment: environment, input: input, timeout: timeout)
    }

    /// Runs any program (e.g. /usr/bin/env python3 …) to completion.
    public static func runTool(_ path: String, arguments: [String], environment: [String: String] = [:], input: Data? = nil, timeout: Duration = .seconds(60)) async throws -> (status: Int32, output: String) {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("crm-run-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let outputPath = scratch.appendingPathComponent("out").path
        var inputPath: String?
        if let input {
            inputPath = scratch.appendingPathComponent("in").path
            try input.write(to: URL(fileURLWithPath: inputPath!))
        }
        let child = try ChildProcess(path: path, arguments: arguments, environment: ChildProcess.environment.merging(environment) { $1 },
                                     outputPath: outputPath, inputPath: inputPath)
        guard let status = await child.waitForExit(timeout: timeout) else {
            child.signal(SIGKILL)
            throw TestHarnessError.timedOut("\(path) \(arguments.joined(separator: " "))")
        }
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return (status, output)
    }

    /// Where the built executables are: `CRM_BIN_DIR`, else `.build/debug` beside the package.
    public static var binaryDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["CRM_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return packageRoot.appendingPathComponent(".build/debug")
    }

    /// The package's root folder (this file is Tests/TestSupport/ServiceProcess.swift).
    public static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }
}
