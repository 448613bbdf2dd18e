import ArgumentParser
import Contracts
import Foundation
import RedisClient

struct Lead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read leads.", subcommands: [Show.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a lead as stored (stage, definition version, data, version); exit 1 when there is none.")

        @OptionGroup var connection: ClientOptions

        @Option(help: "The lead's tenant.")
        var tenant: String

        @Argument(help: "The lead's id.")
        var id: String

        func run() async throws {
            guard Identifier.isTenant(tenant), Identifier.isMessageID(id) else { throw ValidationError("the tenant or lead id has characters an id cannot have") }
            let key = connection.router.keys(forTenant: tenant).record(tenant: tenant, entity: "lead", id: id)
            guard let bytes = try await connection.connection().send("HGET", key, "d").bytes else {
                FileHandle.standardError.write(Data("crmctl: tenant '\(tenant)' has no lead '\(id)'\n".utf8))
                throw ExitCode(1)
            }
            writeOut(Data(bytes + [0x0A]))
        }
    }
}
