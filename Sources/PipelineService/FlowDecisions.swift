import Contracts
import CrmCore
import CrmRedis

/// The tenant's integration that receives notifications (an integration-service webhook, email or
/// plugin of that name).
let notifyIntegration = "notify"

/// The events and calls one flow decision produces, ready for a `CommandDecision`.
struct FlowOutput {
    var events: [Envelope] = []
    var commands: [(stream: String, envelope: Envelope)] = []
}

extension PipelineCommands {
    /// What entering a stage starts: the gateway that forks there (its branches and first calls).
    func enter(_ record: PipelineRecord, from previousStage: String, entity: EntityKind, definition: CompiledDefinition,
               cause: Envelope, shard: ShardKeys) -> (PipelineRecord, FlowOutput) {
        let progress = FlowRules.fork(record, from: previousStage, runID: cause.id, definition: definition, now: RFC3339.seconds(cause.occurredAt) ?? 0)
        guard let run = progress.record.flow, !progress.forked.isEmpty else { return (record, FlowOutput()) }
        var output = FlowOutput()
        output.events.append(cause.event(type: MessageType.gatewayForked, payload: [
            "\(entity.rawValue)Id": .string(record.id), "gateway": .string(run.gateway), "runId": .string(run.runId), "stage": .string(record.stage),
            "branches": .array(progress.forked.map(JSONValue.string)),
        ]))
        output.commands = progress.calls.map { call(for: $0, run: run, record: record, entity: entity, cause: cause, shard: shard) }
        return (progress.record, output)
    }

    /// The events and calls of a step completed, a branch done, a join, a compensation, a rollback.
    func output(of progress: FlowProgress, before: PipelineRecord, entity: EntityKind, cause: Envelope, shard: ShardKeys, reason: String? = nil) -> FlowOutput {
        var output = FlowOutput()
        let idField = "\(entity.rawValue)Id"
        guard let run = before.flow else { return output }
        let base: [String: JSONValue] = [idField: .string(before.id), "gateway": .string(run.gateway), "runId": .string(run.runId)]
        if let step = progress.completed {
            output.events.append(cause.event(type: MessageType.branchCompleted, payload: .object(base.merging([
                "branch": .string(step.branch), "step": .string(step.step), "branchDone": .bool(progress.branchCompleted == step.branch),
            ]) { $1 })))
        }
        if let join = progress.joinedAt {
            output.events.append(cause.event(type: MessageType.gatewayJoined, payload: .object(base.merging([
                "branches": .array(run.branches.map { .string($0.name) }), "stage": .string(join),
            ]) { $1 })))
            output.events.append(stageChanged(entity, id: before.id, action: "join", from: before.stage, to: join, version: progress.record.version, cause: cause))
        }
        if progress.compensationStarted {
            let pending = (progress.record.flow?.log ?? []).reversed().filter { $0.compensate != nil && !$0.compensated }
            output.events.append(cause.event(type: MessageType.sagaCompensating, payload: .object(base.merging([
                "reason": .string(reason ?? "aborted"), "steps": .array(pending.map { .string("\($0.branch).\($0.step)") }),
            ]) { $1 })))
        }
        if let from = progress.rolledBackFrom {
            output.events.append(cause.event(type: MessageType.sagaCompensated, payload: .object(base.merging([
                "stage": .string(progress.record.stage), "compensated": .array(run.log.reversed().filter { $0.compensate != nil }.map { .string("\($0.branch).\($0.step)") }),
            ]) { $1 })))
            output.events.append(stageChanged(entity, id: before.id, action: "rollback", from: from, to: progress.record.stage, version: progress.record.version, cause: cause))
        }
        if progress.parked {
            output.events.append(cause.event(type: MessageType.sagaParked, payload: .object(base.merging([
                "reason": .string(progress.record.flow?.failure ?? reason ?? ""),
            ]) { $1 })))
        }
        if let current = progress.record.flow ?? before.flow {
            output.commands = progress.calls.map { call(for: $0, run: current, record: progress.record, entity: entity, cause: cause, shard: shard) }
        }
        return output
    }

    private func stageChanged(_ entity: EntityKind, id: String, action: String, from: String, to: String, version: Int, cause: Envelope) -> Envelope {
        cause.event(type: "\(entity.rawValue).stage_changed", payload: [
            "\(entity.rawValue)Id": .string(id), "action": .string(action), "from": .string(from), "to": .string(to), "recordVersion": .integer(Int64(version)),
        ])
    }

    /// An `integration.invoke` or `integration.compensate` for a saga step; the idempotency key the
    /// receiver sees is derived from the saga id and the step number (integration-service: `<runId>:<step>`), the call id is `<runId>-<step number>`.
    private func call(for step: StepCall, run: GatewayRun, record: PipelineRecord, entity: EntityKind, cause: Envelope, shard: ShardKeys) -> (stream: String, envelope: Envelope) {
        let callID = step.operation == .invoke ? "\(run.runId)-\(step.number)" : "\(run.runId)-\(step.number)-c\(step.attempt)"
        let envelope = Envelope(type: step.operation == .invoke ? MessageType.integrationInvoke : MessageType.integrationCompensate, kind: .command,
                                tenant: cause.tenant, actor: cause.actor, correlationId: cause.correlationId ?? cause.id, causationId: cause.id,
                                payload: [
                                    "callId": .string(callID), "integration": .string(step.integration), "input": PayloadMapping.json(step.input),
                                    "subject": .string("\(entity.rawValue):\(record.id)"), "sagaId": .string(run.runId), "step": .integer(Int64(step.number)),
                                ])
        return (shard.commands(.integration), envelope)
    }

    /// `branch.complete`: a person or an app completes a branch's current step.
    func completeBranch(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let (entity, id, branch, step) = try PayloadMapping.branchCompletion(command.payload)
        let kind = RecordCommand(entity: entity, verb: .update)
        let (record, definition, _) = try await existing(id, kind, command: command, shard: shard)
        try await authorize(command, permission: "update", definition: definition, shard: shard)
        let progress: FlowProgress?
        do {
            progress = try FlowRules.complete(record, branch: branch, step: step, number: nil, definition: definition)
        } catch {
            throw Rejection(error)
        }
        guard let progress else {
            // Already completed (the same completion sent again under another id): nothing to count twice.
            return CommandDecision(writes: [], events: [], outcome: CommandOutcome.accepted(command, events: [], recordID: id, recordVersion: record.version))
        }
        var flow = output(of: progress, before: record, entity: entity, cause: command, shard: shard)
        var final = progress.record
        if progress.joinedAt != nil {
            let (entered, more) = enter(final, from: record.stage, entity: entity, definition: definition, cause: command, shard: shard)
            final = entered
            flow.events += more.events
            flow.commands += more.commands
        }
        return CommandDecision(writes: [CrmStore.recordWrite(shard: shard, tenant: command.tenant, entity: entity, record: final, definition: definition, at: command.occurredAt)], events: flow.events,
                               outcome: CommandOutcome.accepted(command, events: flow.events, recordID: id, recordVersion: final.version), commands: flow.commands)
    }

    /// `saga.abort`: undo the running campaign's completed steps, last first, then return to the prior stage.
    func abortSaga(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let (entity, id, reason) = try PayloadMapping.sagaAbort(command.payload)
        let kind = RecordCommand(entity: entity, verb: .update)
        let (record, definition, _) = try await existing(id, kind, command: command, shard: shard)
        try await authorize(command, permission: "update", definition: definition, shard: shard)
        guard let progress = FlowRules.compensate(record, reason: reason) else {
            throw Rejection(.invalidTransition, "\(entity.rawValue) '\(id)' runs no campaign that can be aborted", field: "payload.\(entity.rawValue)Id")
        }
        let flow = output(of: progress, before: record, entity: entity, cause: command, shard: shard, reason: reason)
        return CommandDecision(writes: [CrmStore.recordWrite(shard: shard, tenant: command.tenant, entity: entity, record: progress.record, definition: definition, at: command.occurredAt)], events: flow.events,
                               outcome: CommandOutcome.accepted(command, events: flow.events, recordID: id, recordVersion: progress.record.version),
                               commands: flow.commands)
    }

    /// Reacts to an integration's result for a saga step. A result that no longer matches the run (a
    /// replay, a late answer) changes nothing; the reaction writes no outcome.
    func react(_ event: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let nothing = CommandDecision(writes: [], events: [], outcome: nil)
        if store.registry.triggerEventTypes.contains(event.type) { return triggered(by: event, shard: shard) }
        if event.type == MessageType.slaBreached || event.type == MessageType.recordEscalated { return notifications(for: event, shard: shard) }
        guard let sagaID = event.payload["sagaId"]?.stringValue, let number = event.payload["step"]?.doubleValue.map(Int.init),
              let subject = event.payload["subject"]?.stringValue else { return nothing }
        let parts = subject.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let entity = EntityKind(rawValue: parts[0]),
              let record = try await store.record(shard: shard, tenant: event.tenant, entity: entity, id: parts[1]),
              record.flow?.runId == sagaID,
              let definition = try await store.definition(shard: shard, tenant: event.tenant, entity: entity, version: record.definitionVersion) else { return nothing }
        let reason = event.payload["reason"]?.stringValue ?? "the integration failed"
        let progress: FlowProgress?
        switch event.type {
        case MessageType.integrationSucceeded:
            progress = branchOf(number, record: record).flatMap { branch in
                (try? FlowRules.complete(record, branch: branch, step: nil, number: number, definition: definition)) ?? nil
            }
        case MessageType.integrationFailed where event.payload["operation"]?.stringValue == "compensate":
            progress = FlowRules.compensationFailed(record, number: number, reason: reason)
        case MessageType.integrationFailed:
            let current = record.flow?.branches.contains { $0.index * 1000 + $0.nextStep == number && !$0.completed } ?? false
            progress = current ? FlowRules.compensate(record, reason: "step \(number) failed: \(reason)") : nil
        case MessageType.integrationCompensated:
            progress = FlowRules.compensated(record, number: number)
        default:
            progress = nil
        }
        guard let progress else { return nothing }
        let flow = output(of: progress, before: record, entity: entity, cause: event, shard: shard, reason: reason)
        var final = progress.record
        var events = flow.events
        var commands = flow.commands
        if progress.joinedAt != nil {
            let (entered, more) = enter(final, from: record.stage, entity: entity, definition: definition, cause: event, shard: shard)
            final = entered
            events += more.events
            commands += more.commands
        }
        return CommandDecision(writes: [CrmStore.recordWrite(shard: shard, tenant: event.tenant, entity: entity, record: final, definition: definition, at: event.occurredAt)], events: events,
                               outcome: nil, commands: commands)
    }

    /// Registered triggers watching this event type: each action they return is sent to this
    /// service as a `<entity>.apply` command, in the commit that marks the event handled.
    private func triggered(by event: Envelope, shard: ShardKeys) -> CommandDecision {
        var fields: [String: FieldValue] = [:]
        for (key, value) in event.payload.objectValue ?? [:] {
            if let field = try? PayloadMapping.fieldValue(value, path: key) { fields[key] = field }
        }
        let seen = TriggeredEvent(type: event.type, tenant: event.tenant, actor: event.actor, fields: fields)
        let actions = store.registry.triggers.sorted { $0.key < $1.key }.filter { $0.value.eventType == event.type }.compactMap { $0.value.body(seen) }
        let commands = actions.map { action in
            (shard.commands(.pipeline), Envelope(type: "\(action.entity.rawValue).apply", kind: .command, tenant: event.tenant, actor: event.actor,
                                                 correlationId: event.correlationId ?? event.id, causationId: event.id,
                                                 payload: ["\(action.entity.rawValue)Id": .string(action.id), "action": .string(action.action)]))
        }
        return CommandDecision(writes: [], events: [], outcome: nil, commands: commands)
    }

    /// An SLA breach's `notify` actions, or an escalation level with action `notify`: a call to the
    /// tenant's `notify` integration per recipient, in the commit that marks the event handled (a
    /// tenant without one gets `not_found` from integration-service, which harms nothing).
    private func notifications(for event: Envelope, shard: ShardKeys) -> CommandDecision {
        var recipients: [String] = []
        if event.type == MessageType.slaBreached {
            recipients = (event.payload["actions"]?.arrayValue ?? []).filter { $0["action"]?.stringValue == "notify" }.compactMap { $0["to"]?.stringValue }
        } else if event.payload["action"]?.stringValue == "notify", let to = event.payload["to"]?.stringValue {
            recipients = [to]
        }
        let commands = recipients.enumerated().map { index, to in
            var payload: [String: JSONValue] = [
                "callId": .string("notify-\(event.id)-\(index)"), "integration": .string(notifyIntegration),
                "input": ["to": .string(to), "event": .string(event.type), "details": event.payload],
            ]
            if let subject = event.payload["subject"]?.stringValue { payload["subject"] = .string(subject) }
            return (shard.commands(.integration), Envelope(type: MessageType.integrationInvoke, kind: .command, tenant: event.tenant, actor: event.actor,
                                                           correlationId: event.correlationId ?? event.id, causationId: event.id, payload: .object(payload)))
        }
        return CommandDecision(writes: [], events: [], outcome: nil, commands: commands)
    }

    /// The started branch whose current step has this number.
    private func branchOf(_ number: Int, record: PipelineRecord) -> String? {
        record.flow?.branches.first { $0.index * 1000 + $0.nextStep == number }?.name
    }
}
