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

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a tenant's leads, opportunities or contacts as JSON lines (optionally in one stage), scanning its shard.",
        discussion: "An operator's tool: it walks the tenant's keys with SCAN, so it costs time in proportion to the shard's size.")

    @OptionGroup var connection: ClientOptions

    @Option(help: "The tenant.")
    var tenant: String

    @Argument(help: "lead, opportunity or contact.")
    var entity: String

    @Option(help: "Only records in this stage.")
    var stage: String?

    @Option(help: "At most this many records.")
    var limit: Int = 100

    func validate() throws {
        guard ["lead", "opportunity", "contact"].contains(entity) else { throw ValidationError("the entity is lead, opportunity or contact, not '\(entity)'") }
        guard Identifier.isTenant(tenant) else { throw ValidationError("'\(tenant)' is not a tenant name") }
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let redis = try connection.connection()
        let prefix = connection.router.keys(forTenant: tenant).record(tenant: tenant, entity: entity, id: "")
        var printed = 0
        try await forEachDocument(redis, prefix: prefix) { bytes in
            guard let record = try? JSONValue.parse(bytes) else { return true }
            if let stage, record["stage"]?.stringValue != stage { return true }
            printJSON(record)
            printed += 1
            return printed < limit
        }
    }
}
