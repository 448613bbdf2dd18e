import ArgumentParser
import Contracts
import CrmCore
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

        func run() async throws { try await showRecord(.lead, tenant: tenant, id: id, connection: connection) }
    }
}

struct Opportunity: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read opportunities.", subcommands: [Show.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an opportunity as stored; exit 1 when there is none.")

        @OptionGroup var connection: ClientOptions

        @Option(help: "The opportunity's tenant.")
        var tenant: String

        @Argument(help: "The opportunity's id.")
        var id: String

        func run() async throws { try await showRecord(.opportunity, tenant: tenant, id: id, connection: connection) }
    }
}

/// Prints a stored record's JSON; exit 1 when there is none.
func showRecord(_ entity: EntityKind, tenant: String, id: String, connection: ClientOptions) async throws {
    guard Identifier.isTenant(tenant), Identifier.isMessageID(id) else { throw ValidationError("the tenant or id has characters an id cannot have") }
    let key = connection.router.keys(forTenant: tenant).record(tenant: tenant, entity: entity.rawValue, id: id)
    guard let bytes = try await connection.connection().send("HGET", key, "d").bytes else {
        FileHandle.standardError.write(Data("crmctl: tenant '\(tenant)' has no \(entity.rawValue) '\(id)'\n".utf8))
        throw ExitCode(1)
    }
    writeOut(Data(bytes + [0x0A]))
}
