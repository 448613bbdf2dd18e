/// A gateway's run on one record, kept in the record itself so that every branch completion, the
/// join and each compensation is one version-checked write: concurrent completions retry instead of
/// losing one, and the join happens exactly once. The run is the saga: `log` holds completed steps
/// in order of completion.
public struct GatewayRun: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable {
        case running
        /// Undoing completed steps, last completed first.
        case compensating
        /// A compensation kept failing; an operator resolves it (`crmctl dlq`).
        case parked
    }

    public let gateway: String
    /// The saga id: the id of the command that made the record enter the gateway's stage.
    public let runId: String
    /// The stage the record held before the gateway's stage; a rolled-back saga returns there.
    public let previousStage: String
    public var branches: [BranchRun]
    public var log: [CompletedStep]
    public var status: Status
    public var failure: String?
    /// Attempts of the current compensation.
    public var compensationAttempts: Int

    public var joined: Bool { branches.allSatisfy(\.completed) }
}

public struct BranchRun: Sendable, Hashable, Codable {
    public let name: String
    /// The branch's index in the gateway definition.
    public let index: Int
    public let stepCount: Int
    /// The step to complete next (== stepCount once the branch is done).
    public var nextStep: Int
    public var completed: Bool { nextStep >= stepCount }
}

public struct CompletedStep: Sendable, Hashable, Codable {
    public let branch: String
    public let step: String
    /// `branch index × 1000 + step index`: the saga step number integrations see.
    public let number: Int
    public let compensate: Compensation?
    public var compensated: Bool
}

/// A call the pipeline asks integration-service to make for a saga step.
public struct StepCall: Sendable, Hashable {
    public enum Operation: String, Sendable { case invoke, compensate }
    public let operation: Operation
    public let branch: String
    public let step: String
    public let number: Int
    public let integration: String
    public let input: [String: FieldValue]
    /// Distinguishes repeated attempts of one compensation (each a new call).
    public let attempt: Int
}
