import ArgumentParser
import Contracts
import CrmCore
import CrmRedis
import Foundation
import RedisClient

struct Can: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Say whether an actor may take a permission (create, update or an action) on the tenant's leads; exit 1 when not.",
        discussion: "Uses the lead's definition version with --lead, else the latest one; roles come from the tenant's directory.")

    @OptionGroup var connection: ClientOptions

    @Option(help: "The tenant.")
    var tenant: String

    @Option(help: "The user id to check.")
    var actor: String

    @Option(help: "A lead whose definition version applies.")
    var lead: String?

    @Argument(help: "create, update or an action such as qualify.")
    var permission: String

    func run() async throws {
        guard Identifier.isTenant(tenant), Identifier.isActor(actor), Names.isValid(permission) else {
            throw ValidationError("the tenant, actor or permission has characters a name cannot have")
        }
        let pool = RedisPool(endpoint: try connection.endpoint(), size: 1)
        let store = CrmStore(pool: pool)
        let shard = connection.router.keys(forTenant: tenant)
        var version: Int?
        if let lead {
            guard let record = try await store.record(shard: shard, tenant: tenant, entity: .lead, id: lead) else { throw ValidationError("tenant '\(tenant)' has no lead '\(lead)'") }
            version = record.definitionVersion
        }
        guard let definition = try await store.definition(shard: shard, tenant: tenant, entity: .lead, version: version) else {
            throw ValidationError("tenant '\(tenant)' has no lead definition")
        }
        let user = try await store.directory(shard: shard, tenant: tenant, user: actor).user
        if let refusal = Authorization.check(actor: actor, user: user, permission: permission, definition: definition.source) {
            print("no: \(refusal.message)")
            throw ExitCode(1)
        }
        print("yes: '\(actor)' may \(permission) leads of '\(tenant)' (definition version \(definition.version))")
    }
}
