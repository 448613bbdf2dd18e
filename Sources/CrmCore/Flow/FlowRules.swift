/// What happened to a record's gateway run, for the events and the calls to make.
public struct FlowProgress: Sendable, Hashable {
    public var record: PipelineRecord
    /// Branches started by a fork.
    public var forked: [String] = []
    /// The step just completed.
    public var completed: CompletedStep?
    /// A branch whose last step just completed.
    public var branchCompleted: String?
    /// Every started branch has completed: the record moved to the join stage.
    public var joinedAt: String?
    /// Calls to send to integration-service.
    public var calls: [StepCall] = []
    /// The saga started undoing completed steps.
    public var compensationStarted = false
    /// The saga finished undoing: the record is back in `record.stage`.
    public var rolledBackFrom: String?
    /// A compensation kept failing and the saga stopped.
    public var parked = false
}

/// The gateway and saga rules (DESIGN §4), pure: the pipeline applies what they decide in one commit.
public enum FlowRules {
    /// Attempts of one compensation before the saga is parked for an operator.
    public static let maxCompensationAttempts = 5

    /// Starts the gateway of the stage `record` just entered from `previousStage`, if there is one.
    public static func fork(_ record: PipelineRecord, from previousStage: String, runID: String, definition: CompiledDefinition, now: Double) -> FlowProgress {
        var progress = FlowProgress(record: record)
        guard let gateway = definition.gateway(at: record.stage) else { return progress }
        let context = RecordContext(record: record, now: now, types: definition.fieldTypes)
        var started = gateway.branches.enumerated().filter { _, branch in
            switch gateway.kind {
            case .parallel: return true
            case .inclusive: return !branch.isDefault && (definition.branchConditions[gateway.name]?[branch.name]?.holds(context) ?? false)
            }
        }
        if started.isEmpty { started = gateway.branches.enumerated().filter { $0.element.isDefault } }
        let branches = started.map { BranchRun(name: $0.element.name, index: $0.offset, stepCount: $0.element.steps.count, nextStep: 0) }
        progress.record.flow = GatewayRun(gateway: gateway.name, runId: runID, previousStage: previousStage, branches: branches, log: [],
                                          status: .running, failure: nil, compensationAttempts: 0)
        progress.forked = branches.map(\.name)
        progress.calls = branches.compactMap { call(for: $0, in: gateway) }
        return progress
    }

    /// Completes a branch's current step: by `branch.complete` (`number` nil: the step must not be an
    /// integration's) or by an integration's success (`number` names the step). A completion that does
    /// not match the current step (a replay, a late result) is `nil`: nothing to do.
    public static func complete(_ record: PipelineRecord, branch name: String, step stepName: String?, number: Int?,
                                definition: CompiledDefinition) throws(DomainRejection) -> FlowProgress? {
        guard var run = record.flow, let gateway = definition.source.gateways.first(where: { $0.name == run.gateway }) else {
            if number != nil { return nil }
            throw DomainRejection(code: "invalid_transition", message: "record '\(record.id)' runs no gateway at stage '\(record.stage)'", field: "payload.branch")
        }
        guard run.status == .running else {
            if number != nil { return nil }
            throw DomainRejection(code: "invalid_transition", message: "the campaign of '\(record.id)' is being rolled back", field: "payload.branch")
        }
        guard let position = run.branches.firstIndex(where: { $0.name == name }) else {
            if number != nil { return nil }
            let known = gateway.branches.contains { $0.name == name }
            throw DomainRejection(code: known ? "invalid_transition" : "not_found",
                                  message: known ? "branch '\(name)' was not started (its condition did not hold)" : "gateway '\(gateway.name)' has no branch '\(name)'",
                                  field: "payload.branch")
        }
        var branch = run.branches[position]
        // Completing a completed branch again changes nothing (a replay under another id).
        guard !branch.completed else { return nil }
        let definitionStep = gateway.branches[branch.index].steps[branch.nextStep]
        let current = branch.index * 1000 + branch.nextStep
        if let number {
            guard number == current else { return nil }
        } else {
            if let stepName, stepName != definitionStep.name {
                if gateway.branches[branch.index].steps[..<branch.nextStep].contains(where: { $0.name == stepName }) { return nil }
                throw DomainRejection(code: "invalid_transition", message: "branch '\(name)' is at step '\(definitionStep.name)', not '\(stepName)'", field: "payload.step")
            }
            if let integration = definitionStep.integration {
                throw DomainRejection(code: "invalid_transition",
                                      message: "step '\(definitionStep.name)' is completed by its integration '\(integration)', not by branch.complete", field: "payload.step")
            }
        }
        var progress = FlowProgress(record: record)
        let done = CompletedStep(branch: name, step: definitionStep.name, number: current, compensate: definitionStep.compensate, compensated: false)
        run.log.append(done)
        progress.completed = done
        branch.nextStep += 1
        run.branches[position] = branch
        if branch.completed {
            progress.branchCompleted = name
        } else if let next = call(for: branch, in: gateway) {
            progress.calls.append(next)
        }
        progress.record.version += 1
        if run.joined {
            progress.record.flow = nil
            progress.record.stage = gateway.join
            progress.joinedAt = gateway.join
        } else {
            progress.record.flow = run
        }
        return progress
    }

    /// A step failed for good, or the saga is aborted: undo the completed steps, last first.
    public static func compensate(_ record: PipelineRecord, reason: String) -> FlowProgress? {
        guard var run = record.flow, run.status == .running else { return nil }
        run.status = .compensating
        run.failure = reason
        run.compensationAttempts = 0
        var progress = FlowProgress(record: record)
        progress.compensationStarted = true
        progress.record.flow = run
        progress.record.version += 1
        return advanceCompensation(&progress)
    }

    /// A compensation succeeded (`number` names the step); a mismatch (a replay) is nil.
    public static func compensated(_ record: PipelineRecord, number: Int) -> FlowProgress? {
        guard var run = record.flow, run.status == .compensating,
              let index = run.log.lastIndex(where: { $0.compensate != nil && !$0.compensated }), run.log[index].number == number else { return nil }
        run.log[index].compensated = true
        run.compensationAttempts = 0
        var progress = FlowProgress(record: record)
        progress.record.flow = run
        progress.record.version += 1
        return advanceCompensation(&progress)
    }

    /// A compensation failed after integration-service's retries: send it again, or park the saga.
    public static func compensationFailed(_ record: PipelineRecord, number: Int, reason: String) -> FlowProgress? {
        guard var run = record.flow, run.status == .compensating,
              let index = run.log.lastIndex(where: { $0.compensate != nil && !$0.compensated }), run.log[index].number == number else { return nil }
        var progress = FlowProgress(record: record)
        run.compensationAttempts += 1
        progress.record.version += 1
        if run.compensationAttempts >= maxCompensationAttempts {
            run.status = .parked
            run.failure = "compensating step '\(run.log[index].step)' failed \(run.compensationAttempts) times: \(reason)"
            progress.parked = true
            progress.record.flow = run
            return progress
        }
        progress.record.flow = run
        progress.calls = [compensationCall(run.log[index], attempt: run.compensationAttempts)]
        return progress
    }

    /// Sends the next compensation, or, when none is left, returns the record to its prior stage.
    private static func advanceCompensation(_ progress: inout FlowProgress) -> FlowProgress {
        guard let run = progress.record.flow else { return progress }
        if let next = run.log.last(where: { $0.compensate != nil && !$0.compensated }) {
            progress.calls = [compensationCall(next, attempt: run.compensationAttempts)]
            return progress
        }
        progress.rolledBackFrom = progress.record.stage
        progress.record.stage = run.previousStage
        progress.record.flow = nil
        return progress
    }

    private static func compensationCall(_ step: CompletedStep, attempt: Int) -> StepCall {
        StepCall(operation: .compensate, branch: step.branch, step: step.step, number: step.number, integration: step.compensate!.integration,
                 input: step.compensate!.input ?? [:], attempt: attempt)
    }

    /// The call a branch's current step makes, if it is an integration step.
    private static func call(for branch: BranchRun, in gateway: GatewayDefinition) -> StepCall? {
        guard !branch.completed else { return nil }
        let step = gateway.branches[branch.index].steps[branch.nextStep]
        guard let integration = step.integration else { return nil }
        return StepCall(operation: .invoke, branch: branch.name, step: step.name, number: branch.index * 1000 + branch.nextStep,
                        integration: integration, input: step.input ?? [:], attempt: 0)
    }
}
