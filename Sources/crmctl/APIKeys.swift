import ArgumentParser
import Contracts
import CrmCore
import CrmKit
import CrmRedis
import Foundation

/// `crmctl apikey create|revoke`: gateway API keys. The key is made here and printed once; only its
/// SHA-256 travels (in `directory.put_api_key`) and is stored.
struct APIKeys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apikey", abstract: "Create or revoke a gateway API key for a user of a tenant.",
                                                    subcommands: [Create.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a key for --user, register its hash (as --actor, an admin) and print the key once.")

        @OptionGroup var connection: ClientOptions
        @Option(help: "The tenant.") var tenant: String
        @Option(help: "An admin of the tenant's directory, who registers the key.") var actor: String
        @Option(help: "The user the key acts as.") var user: String
        @Option(help: "A name to recognise the key by.") var name: String = ""

        func run() async throws {
            guard Identifier.isTenant(tenant), Identifier.isActor(actor), Identifier.isActor(user) else {
                throw ValidationError("the tenant, actor or user has characters an id cannot have")
            }
            var random = SystemRandomNumberGenerator()
            let secret = Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            let key = "crm.\(tenant).\(secret)"
            try await register(key, active: true, connection: connection, tenant: tenant, actor: actor, user: user, name: name)
            print(key)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key (as --actor, an admin); requests with it get 401 at once.")

        @OptionGroup var connection: ClientOptions
        @Option(help: "An admin of the key's tenant.") var actor: String
        @Option(help: "The user the key acts as.") var user: String
        @Argument(help: "The key.") var key: String

        func run() async throws {
            guard let tenant = APIKey.tenant(of: key) else { throw ValidationError("that is not an API key of this CRM (crm.<tenant>.<secret>)") }
            try await register(key, active: false, connection: connection, tenant: tenant, actor: actor, user: user, name: "")
            print("revoked")
        }
    }

    static func register(_ key: String, active: Bool, connection: ClientOptions, tenant: String, actor: String, user: String, name: String) async throws {
        let client = CrmClient(endpoint: try connection.endpoint(), shards: connection.shards, poolSize: 1)
        defer { Task { await client.close() } }
        var payload: [String: JSONValue] = ["keyHash": .string(Checksum.sha256(Array(key.utf8))), "userId": .string(user), "active": .bool(active)]
        if !name.isEmpty { payload["name"] = .string(name) }
        let command = Envelope(type: MessageType.directoryPutAPIKey, kind: .command, tenant: tenant, actor: actor, payload: .object(payload))
        let result = try await client.send(command)
        guard result.accepted else {
            FileHandle.standardError.write(Data("crmctl: \(result.outcome.json)\n".utf8))
            throw ExitCode(1)
        }
    }
}
