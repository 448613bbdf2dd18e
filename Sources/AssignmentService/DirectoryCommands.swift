public import Contracts
import CrmCore
public import CrmRedis
public import Logging

/// A tenant's directory of users and roles (`directory.put_user`), on any storage: assignment-service
/// runs it on Redis, the Level 1 API in-process.
public struct DirectoryCommands: Sendable {
    public static let types: Set<String> = [MessageType.directoryPutUser]
    let store: CrmStore
    let committer: CommandCommitter
    let logger: Logger

    public init(storage: any CrmStorage, logger: Logger, policy: CommitPolicy = .init()) {
        self.store = CrmStore(storage: storage)
        self.committer = CommandCommitter(storage: storage, group: "assignment", policy: policy)
        self.logger = logger
    }

    @discardableResult
    public func execute(_ command: Envelope, shard: ShardKeys, acknowledging entry: (stream: String, entryID: String)? = nil) async throws -> CommittedOutcome {
        try await committer.decideAndCommit(command, shard: shard, acknowledging: entry, logger: logger) {
            try await putUser(command, shard: shard)
        }
    }

    private func putUser(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let user = try Self.user(command.payload)
        let directory = try await store.directory(shard: shard, tenant: command.tenant, user: command.actor)
        if let refusal = Authorization.checkAdministration(actor: command.actor, user: directory.user, directoryExists: directory.exists) {
            throw Rejection(.forbidden, refusal.message)
        }
        if !directory.exists, !user.roles.contains(Authorization.adminRole) {
            throw Rejection(.invalidPayload, "the tenant's first user must have the role '\(Authorization.adminRole)'", field: "payload.roles")
        }
        let event = command.event(type: MessageType.directoryUserUpdated, payload: [
            "userId": .string(user.userId), "roles": .array(user.roles.map(JSONValue.string)), "active": .bool(user.active),
            "directoryVersion": .integer(Int64(directory.version + 1)),
        ])
        return CommandDecision(writes: [CrmStore.directoryWrite(shard: shard, tenant: command.tenant, user: user, currentVersion: directory.version)],
                               events: [event], outcome: CommandOutcome.accepted(command, events: [event], recordID: user.userId))
    }

    static func user(_ payload: JSONValue) throws(Rejection) -> DirectoryUser {
        do throws(PayloadError) {
            let reader = try PayloadReader(payload)
            try reader.allowOnly(["userId", "roles", "name", "active"])
            return DirectoryUser(
                userId: try reader.string("userId", maxLength: 128, rule: Identifier.isActor, expected: "a user id"),
                roles: Array(Set(try reader.strings("roles", maxCount: 32, rule: Names.isValid, expected: "a role name"))).sorted(),
                name: try reader.optionalString("name", maxLength: 200),
                active: try reader.optionalBool("active") ?? true)
        } catch {
            throw Rejection(error)
        }
    }
}
