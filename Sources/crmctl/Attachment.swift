import ArgumentParser
import Contracts
import CrmRedis
import Foundation
import RedisClient

struct AttachmentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attachment",
        abstract: "Write an interaction's attachment to stdout (or --output), after checking it against its SHA-256; exit 1 when missing or altered.")

    @OptionGroup var connection: ClientOptions

    @Option(help: "The attachment's tenant.")
    var tenant: String

    @Argument(help: "The attachment's sha256 (from interaction.logged).")
    var sha256: String

    @Option(help: "Write to this file instead of stdout.")
    var output: String?

    func run() async throws {
        guard Identifier.isTenant(tenant), sha256.count == 64, sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw ValidationError("give a tenant and a lower-case hex SHA-256")
        }
        let store = CrmStore(pool: RedisPool(endpoint: try connection.endpoint(), size: 1))
        let bytes: [UInt8]
        do {
            guard let found = try await store.blob(shard: connection.router.keys(forTenant: tenant), tenant: tenant, sha256: sha256) else {
                FileHandle.standardError.write(Data("crmctl: tenant '\(tenant)' has no attachment \(sha256)\n".utf8))
                throw ExitCode(1)
            }
            bytes = found
        } catch let error as CorruptedData {
            FileHandle.standardError.write(Data("crmctl: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if let output {
            try Data(bytes).write(to: URL(fileURLWithPath: output))
        } else {
            writeOut(Data(bytes))
        }
    }
}
