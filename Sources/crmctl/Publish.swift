import ArgumentParser
import Contracts
import CrmKit
import Foundation

struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one command envelope (a file, or - for stdin) and print its outcome as JSON.",
        discussion: "Exit status: 0 accepted, 1 rejected, 2 no outcome in time or a bad envelope."
    )

    @OptionGroup var connection: ClientOptions

    @Argument(help: "The envelope file, or - for standard input.")
    var file: String

    @Option(help: "Seconds to wait for the outcome.")
    var timeout: Double = 10

    @Flag(help: "Send the bytes exactly as read, without checking them (to exercise the DLQ); needs --tenant and --stream.")
    var raw = false

    @Option(help: "With --raw: the tenant whose shard receives the bytes.")
    var tenant: String?

    @Option(help: "With --raw: pipeline, assignment, sla or integration.")
    var stream: String = "pipeline"

    func run() async throws {
        let bytes: [UInt8]
        if file == "-" {
            bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
        } else {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            bytes = Array(data)
        }
        let client = CrmClient(endpoint: try connection.endpoint(), shards: connection.shards, poolSize: 1)
        defer { Task { await client.close() } }
        if raw {
            guard let tenant, let target = CommandStream(rawValue: stream) else {
                throw ValidationError("--raw needs --tenant and a --stream of pipeline, assignment, sla or integration")
            }
            let id = try await client.publishRaw(bytes, tenant: tenant, stream: target)
            printJSON(["entryId": .string(id), "stream": .string(client.router.keys(forTenant: tenant).commands(target))])
            return
        }
        let envelope: Envelope
        do {
            envelope = try EnvelopeReader().read(bytes)
        } catch {
            FileHandle.standardError.write(Data("crmctl: \(file): \(error)\n".utf8))
            throw ExitCode(2)
        }
        guard envelope.kind == .command else {
            FileHandle.standardError.write(Data("crmctl: \(file) is an event, not a command\n".utf8))
            throw ExitCode(2)
        }
        let result: CommandResult
        do {
            result = try await client.send(envelope, timeout: .milliseconds(Int(timeout * 1000)))
        } catch {
            FileHandle.standardError.write(Data("crmctl: \(error)\n".utf8))
            throw ExitCode(2)
        }
        writeOut(Data((result.outcome.json + "\n").utf8))
        if !result.accepted { throw ExitCode(1) }
    }
}
