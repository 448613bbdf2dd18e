import ArgumentParser
import Contracts
import CrmCore
import Foundation
import RedisClient

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a lead, opportunity or contact as stored (stage, definition version, data, version); exit 1 when there is none.")

    @OptionGroup var connection: ClientOptions

    @Option(help: "The record's tenant.")
    var tenant: String

    @Argument(help: "lead, opportunity or contact.")
    var entity: String

    @Argument(help: "The record's id.")
    var id: String

    func validate() throws {
        guard ["lead", "opportunity", "contact"].contains(entity) else { throw ValidationError("the entity is lead, opportunity or contact, not '\(entity)'") }
        guard Identifier.isTenant(tenant), Identifier.isMessageID(id) else { throw ValidationError("the tenant or id has characters an id cannot have") }
    }

    func run() async throws {
        let key = connection.router.keys(forTenant: tenant).record(tenant: tenant, entity: entity, id: id)
        guard let bytes = try await connection.connection().send("HGET", key, "d").bytes else {
            FileHandle.standardError.write(Data("crmctl: tenant '\(tenant)' has no \(entity) '\(id)'\n".utf8))
            throw ExitCode(1)
        }
        writeOut(Data(bytes + [0x0A]))
    }
}
