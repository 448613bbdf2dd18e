public import Contracts
import CrmCore
import CrmRedis
import Logging
public import ServiceKit

/// assignment-service: owns each tenant's directory of users and roles (`directory.put_user`), which
/// every service reads to authorize actors. Assignment strategies, approvals and delegation come
/// with the assignment issue; other command types go to the DLQ as `unknown_type`.
public struct AssignmentHandler: SingleMessageHandler {
    public let group = "assignment"
    public let catalog = MessageCatalog.v1.restricted(to: [MessageType.directoryPutUser])
    let store: CrmStore
    let committer: CommandCommitter
    let logger: Logger

    public init(context: ServiceContext) {
        self.store = CrmStore(pool: context.pool)
        self.committer = CommandCommitter(pool: context.pool, group: "assignment",
                                          policy: CommitPolicy(idempotencyTTLSeconds: context.options.idempotencyTTLSeconds))
        self.logger = context.logger
    }

    public func streams(of shard: ShardKeys) -> [String] { [shard.commands(.assignment)] }

    /// A tenant's directory changes one at a time.
    public func ordering(of message: InboundMessage) -> Ordering { .barrier(message.envelope.tenant) }

    public func handle(_ message: InboundMessage) async throws -> Bool {
        let command = message.envelope
        try await committer.decideAndCommit(command, shard: message.shard, acknowledging: (message.stream, message.entryID), logger: logger) {
            try await putUser(command, shard: message.shard)
        }
        return true
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
