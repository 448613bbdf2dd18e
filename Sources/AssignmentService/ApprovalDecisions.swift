import Contracts
import CrmCore
import CrmRedis

extension AssignmentCommands {
    /// `approval.request`: who must approve a record's action, and how their votes decide.
    func requestApproval(_ command: Envelope, shard: ShardKeys, directory: TenantDirectory) async throws -> CommandDecision {
        let request = try AssignmentPayloads.approval(command.payload)
        try directory.requireMember(command.actor)
        let tenant = command.tenant
        let subject = "\(request.entity.rawValue):\(request.recordID)"
        for (index, approver) in request.approvers.enumerated() {
            let user = try directory.requireUser(approver, field: "payload.approvers[\(index)]")
            guard user.active else { throw Rejection(.inactiveUser, "'\(approver)' is not active", field: "payload.approvers[\(index)]") }
        }
        if let problem = ApprovalRules.check(approvers: request.approvers, strategy: request.strategy, registry: approvalRules) {
            throw Rejection(problem)
        }
        let indexKey = shard.approvals(tenant: tenant, entity: request.entity.rawValue, id: request.recordID)
        let reads = try await store.fields([
            HashRead(shard.record(tenant: tenant, entity: request.entity.rawValue, id: request.recordID), ["v"]),
            HashRead(shard.approval(tenant: tenant, id: request.id), ["v"]),
            HashRead(indexKey, ["v", "a:\(request.action)"]),
        ])
        guard reads[0][0] != nil else { throw Rejection(.notFound, "tenant '\(tenant)' has no \(subject)", field: "payload.subject") }
        guard reads[1][0] == nil else { throw Rejection(.alreadyExists, "approval '\(request.id)' exists already", field: "payload.approvalId") }
        let indexVersion = CrmStore.integer(reads[2][0])
        if let state = reads[2][1].map({ String(decoding: $0, as: UTF8.self) }), state.hasPrefix("pending:") {
            throw Rejection(.alreadyExists, "approval \(state.dropFirst(8)) of '\(request.action)' on \(subject) is still pending", field: "payload.action")
        }
        let approval = Approval(id: request.id, subject: subject, action: request.action, submitter: command.actor, approvers: request.approvers,
                                strategy: request.strategy, allowSelfApproval: directory.settings.allowSelfApproval)
        let event = command.event(type: MessageType.approvalRequested, payload: [
            "approvalId": .string(approval.id), "subject": .string(subject), "action": .string(approval.action), "submitter": .string(command.actor),
            "approvers": .array(approval.approvers.map(JSONValue.string)), "strategy": command.payload["strategy"] ?? .null,
        ])
        let writes = [
            RecordWrite(key: shard.approval(tenant: tenant, id: approval.id), expectedVersion: 0, newVersion: 1, fields: [("d", CrmStore.document(approval))]),
            RecordWrite(key: indexKey, expectedVersion: indexVersion, newVersion: indexVersion + 1,
                        fields: [("a:\(approval.action)", Array("pending:\(approval.id)".utf8))],
                        dashboard: .approvals(shard: shard, tenant: tenant, subject: subject, delta: 1)),
        ]
        return CommandDecision(writes: writes, events: [event], outcome: CommandOutcome.accepted(command, events: [event], recordID: approval.id, recordVersion: 1))
    }

    /// `approval.vote`: records the vote atomically; decides as soon as the outcome is certain (once),
    /// and on approval sends the approved action to pipeline-service in the same commit.
    func vote(_ command: Envelope, shard: ShardKeys, directory: TenantDirectory) async throws -> CommandDecision {
        let request = try AssignmentPayloads.vote(command.payload)
        try directory.requireMember(command.actor)
        let tenant = command.tenant
        let key = shard.approval(tenant: tenant, id: request.id)
        let read = try await store.fields([HashRead(key, ["v", "d"])])[0]
        guard let bytes = read[1] else { throw Rejection(.notFound, "tenant '\(tenant)' has no approval '\(request.id)'", field: "payload.approvalId") }
        let version = CrmStore.integer(read[0])
        let approval = try CrmStore.decode(Approval.self, bytes)
        let entity = String(approval.subject.split(separator: ":").first ?? "")
        let now = RFC3339.seconds(command.occurredAt) ?? 0
        let (delegations, _) = try await delegationList(shard: shard, tenant: tenant)
        // Whom the vote is for: the approver named, or the actor, or the approver whose active delegate the actor is.
        let delegateOf = approval.approvers.filter { DelegationRules.chain(from: $0, at: now, entity: entity, delegations: delegations).dropFirst().contains(command.actor) }
        let approver: String
        if let named = request.onBehalfOf {
            guard named == command.actor || delegateOf.contains(named) else {
                throw Rejection(.notAnApprover, "'\(command.actor)' is not an active delegate of '\(named)'", field: "payload.onBehalfOf")
            }
            approver = named
        } else if approval.approvers.contains(command.actor) {
            approver = command.actor
        } else if delegateOf.count == 1 {
            approver = delegateOf[0]
        } else if delegateOf.count > 1 {
            throw Rejection(.invalidPayload, "'\(command.actor)' stands in for \(delegateOf.joined(separator: ", ")): name one in onBehalfOf", field: "payload.onBehalfOf")
        } else {
            throw Rejection(.notAnApprover, "'\(command.actor)' is neither an approver of '\(approval.id)' nor an approver's active delegate", field: "actor")
        }
        let (updated, decided, tally): (Approval, Bool, ApprovalTally)
        do {
            (updated, decided, tally) = try ApprovalRules.vote(approval, approver: approver, voter: command.actor, vote: request.vote, comment: request.comment,
                                                             at: command.occurredAt, registry: approvalRules)
        } catch {
            throw Rejection(error)
        }
        let late = approval.status != .pending
        var recorded: [String: JSONValue] = [
            "approvalId": .string(approval.id), "approver": .string(approver), "voter": .string(command.actor), "vote": .string(request.vote.rawValue),
            "late": .bool(late),
        ]
        if let comment = request.comment { recorded["comment"] = .string(comment) }
        var events = [command.event(type: MessageType.approvalVoteRecorded, payload: .object(recorded))]
        var writes = [RecordWrite(key: key, expectedVersion: version, newVersion: version + 1, fields: [("d", CrmStore.document(updated))])]
        var commands: [(stream: String, envelope: Envelope)] = []
        if decided {
            var counts: [String: JSONValue] = ["approve": .integer(Int64(tally.approve)), "reject": .integer(Int64(tally.reject)),
                                               "abstain": .integer(Int64(tally.abstain)), "pending": .integer(Int64(tally.pending))]
            if let weight = tally.approvedWeight { counts["approvedWeight"] = .number(weight) }
            events.append(command.event(type: MessageType.approvalDecided, payload: [
                "approvalId": .string(approval.id), "subject": .string(approval.subject), "action": .string(approval.action),
                "outcome": .string(updated.status.rawValue), "tally": .object(counts), "noResponse": .array(updated.noResponse.map(JSONValue.string)),
            ]))
            let recordID = String(approval.subject.split(separator: ":", maxSplits: 1).last ?? "")
            let indexKey = shard.approvals(tenant: tenant, entity: entity, id: recordID)
            let index = try await store.fields([HashRead(indexKey, ["v"])])[0]
            let indexVersion = CrmStore.integer(index[0])
            writes.append(RecordWrite(key: indexKey, expectedVersion: indexVersion, newVersion: indexVersion + 1,
                                      fields: [("a:\(approval.action)", Array("\(updated.status.rawValue):\(approval.id)".utf8))],
                                      dashboard: .approvals(shard: shard, tenant: tenant, subject: approval.subject, delta: -1)))
            if updated.status == .approved {
                // The pipeline reacts: the approved action is applied on the submitter's behalf.
                let apply = Envelope(type: "\(entity).apply", kind: .command, tenant: tenant, actor: approval.submitter,
                                     correlationId: command.correlationId ?? command.id, causationId: command.id,
                                     payload: ["\(entity)Id": .string(recordID), "action": .string(approval.action)])
                commands.append((shard.commands(.pipeline), apply))
            }
        }
        return CommandDecision(writes: writes, events: events, outcome: CommandOutcome.accepted(command, events: events, recordID: approval.id, recordVersion: version + 1),
                               commands: commands)
    }
}
