import Contracts
import CrmCore
import CrmRedis

extension AssignmentCommands {
    /// `directory.put_user`: adds or changes a user (roles, teams, active); admins only once the
    /// tenant has a directory, and its first user must be an admin.
    func putUser(_ command: Envelope, shard: ShardKeys, directory: TenantDirectory) throws -> CommandDecision {
        let user = try AssignmentPayloads.user(command.payload)
        try directory.requireAdmin(command.actor)
        if !directory.exists, !user.roles.contains(Authorization.adminRole) {
            throw Rejection(.invalidPayload, "the tenant's first user must have the role '\(Authorization.adminRole)'", field: "payload.roles")
        }
        let event = command.event(type: MessageType.directoryUserUpdated, payload: [
            "userId": .string(user.userId), "roles": .array(user.roles.map(JSONValue.string)), "active": .bool(user.active),
            "teams": .array(user.teams.map(JSONValue.string)), "directoryVersion": .integer(Int64(directory.version + 1)),
        ])
        return CommandDecision(writes: [CrmStore.directoryWrite(shard: shard, tenant: command.tenant, user: user, currentVersion: directory.version)],
                               events: [event], outcome: CommandOutcome.accepted(command, events: [event], recordID: user.userId))
    }

    /// `directory.put_api_key`: a gateway API key for a user, known by its SHA-256 only (the key itself
    /// never reaches Redis, the events or the audit trail); `"active": false` revokes it. Admins only.
    func putAPIKey(_ command: Envelope, shard: ShardKeys, directory: TenantDirectory) throws -> CommandDecision {
        let (hash, userID, name, active) = try AssignmentPayloads.apiKey(command.payload)
        guard directory.exists else { throw Rejection(.notFound, "tenant '\(command.tenant)' has no directory yet; put its first (admin) user first") }
        try directory.requireAdmin(command.actor)
        _ = try directory.requireUser(userID, field: "payload.userId")
        let key = APIKey(userId: userID, name: name, active: active)
        let event = command.event(type: MessageType.directoryAPIKeyUpdated, payload: [
            "keyId": .string(String(hash.prefix(12))), "userId": .string(userID), "name": .string(name), "active": .bool(active),
            "directoryVersion": .integer(Int64(directory.version + 1)),
        ])
        let write = RecordWrite(key: shard.directory(tenant: command.tenant), expectedVersion: directory.version, newVersion: directory.version + 1,
                                fields: [("k:\(hash)", CrmStore.document(key))])
        return CommandDecision(writes: [write], events: [event], outcome: CommandOutcome.accepted(command, events: [event], recordID: String(hash.prefix(12))))
    }

    /// `directory.configure`: the tenant's settings (self-assignment, self-approval); admins only.
    func configure(_ command: Envelope, shard: ShardKeys, directory: TenantDirectory) throws -> CommandDecision {
        let (selfAssignment, selfApproval) = try AssignmentPayloads.settings(command.payload)
        guard directory.exists else {
            throw Rejection(.notFound, "tenant '\(command.tenant)' has no directory yet; put its first (admin) user first")
        }
        try directory.requireAdmin(command.actor)
        var settings = directory.settings
        if let selfAssignment { settings.allowSelfAssignment = selfAssignment }
        if let selfApproval { settings.allowSelfApproval = selfApproval }
        let event = command.event(type: MessageType.directoryConfigured, payload: [
            "allowSelfAssignment": .bool(settings.allowSelfAssignment), "allowSelfApproval": .bool(settings.allowSelfApproval),
            "directoryVersion": .integer(Int64(directory.version + 1)),
        ])
        let write = RecordWrite(key: shard.directory(tenant: command.tenant), expectedVersion: directory.version, newVersion: directory.version + 1,
                                fields: [("settings", CrmStore.document(settings))])
        return CommandDecision(writes: [write], events: [event], outcome: CommandOutcome.accepted(command, events: [event]))
    }
}
