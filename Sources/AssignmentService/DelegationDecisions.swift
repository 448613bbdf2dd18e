import Contracts
import CrmCore
import CrmRedis

extension AssignmentCommands {
    /// `delegation.set`: the delegator (or an admin) hands new work to the delegatee for a date range.
    func setDelegation(_ command: Envelope, shard: ShardKeys, directory: TenantDirectory) async throws -> CommandDecision {
        let request = try AssignmentPayloads.delegation(command.payload)
        try directory.requireMember(command.actor)
        guard command.actor == request.delegator || directory.isAdmin(command.actor) else {
            throw Rejection(.forbidden, "only '\(request.delegator)' or an admin may delegate their work", field: "payload.delegator")
        }
        _ = try directory.requireUser(request.delegator, field: "payload.delegator")
        let delegatee = try directory.requireUser(request.delegatee, field: "payload.delegatee")
        guard delegatee.active else { throw Rejection(.inactiveUser, "'\(request.delegatee)' is not active", field: "payload.delegatee") }
        let (existing, version) = try await delegationList(shard: shard, tenant: command.tenant)
        let delegation = Delegation(id: request.id, delegator: request.delegator, delegatee: request.delegatee, from: request.from, until: request.until,
                                    starts: request.starts, ends: request.ends, scope: request.scope)
        if let known = existing.first(where: { $0.id == request.id }) {
            guard known == delegation else { throw Rejection(.alreadyExists, "delegation '\(request.id)' exists with other terms", field: "payload.delegationId") }
            return CommandDecision(writes: [], events: [], outcome: CommandOutcome.accepted(command, events: [], recordID: request.id))
        }
        if let problem = DelegationRules.check(delegation, existing: existing, now: RFC3339.seconds(command.occurredAt) ?? 0) {
            throw Rejection(problem)
        }
        let event = command.event(type: MessageType.delegationGranted, payload: [
            "delegationId": .string(delegation.id), "delegator": .string(delegation.delegator), "delegatee": .string(delegation.delegatee),
            "from": .string(delegation.from), "until": .string(delegation.until), "scope": .array(delegation.scope.map(JSONValue.string)),
        ])
        let write = RecordWrite(key: shard.delegations(tenant: command.tenant), expectedVersion: version, newVersion: version + 1,
                                fields: [("g:\(delegation.id)", CrmStore.document(delegation))])
        return CommandDecision(writes: [write], events: [event], outcome: CommandOutcome.accepted(command, events: [event], recordID: delegation.id))
    }

    /// `delegation.revoke`: routing through it stops at once; the delegator, the delegatee or an admin may.
    func revokeDelegation(_ command: Envelope, shard: ShardKeys, directory: TenantDirectory) async throws -> CommandDecision {
        let id = try AssignmentPayloads.delegationID(command.payload)
        try directory.requireMember(command.actor)
        let (existing, version) = try await delegationList(shard: shard, tenant: command.tenant)
        guard var delegation = existing.first(where: { $0.id == id }) else {
            throw Rejection(.notFound, "tenant '\(command.tenant)' has no delegation '\(id)'", field: "payload.delegationId")
        }
        guard [delegation.delegator, delegation.delegatee].contains(command.actor) || directory.isAdmin(command.actor) else {
            throw Rejection(.forbidden, "only '\(delegation.delegator)', '\(delegation.delegatee)' or an admin may revoke '\(id)'")
        }
        guard !delegation.revoked else { return CommandDecision(writes: [], events: [], outcome: CommandOutcome.accepted(command, events: [], recordID: id)) }
        delegation.revoked = true
        let event = command.event(type: MessageType.delegationRevoked, payload: [
            "delegationId": .string(id), "delegator": .string(delegation.delegator), "delegatee": .string(delegation.delegatee),
        ])
        let write = RecordWrite(key: shard.delegations(tenant: command.tenant), expectedVersion: version, newVersion: version + 1,
                                fields: [("g:\(id)", CrmStore.document(delegation))])
        return CommandDecision(writes: [write], events: [event], outcome: CommandOutcome.accepted(command, events: [event], recordID: id))
    }
}
