/// A fork at a stage (DESIGN §4 gateways): when a record enters `stage`, branches start; when every
/// started branch has completed, the record moves to `join`. A gateway's run is a saga: its steps
/// with side effects declare a compensation, undone in reverse order if a step fails for good.
public struct GatewayDefinition: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// Every branch starts.
        case parallel
        /// Only the branches whose `when` holds start (the default branch when none does).
        case inclusive
    }

    public var name: String
    public var stage: String
    public var kind: Kind
    public var join: String
    public var branches: [BranchDefinition]

    public init(name: String, stage: String, kind: Kind, join: String, branches: [BranchDefinition]) {
        self.name = name
        self.stage = stage
        self.kind = kind
        self.join = join
        self.branches = branches
    }
}

public struct BranchDefinition: Sendable, Hashable, Codable {
    public var name: String
    /// For inclusive gateways: the condition that starts the branch.
    public var when: String?
    /// For inclusive gateways: the branch that starts when no condition holds.
    public var isDefault: Bool
    public var steps: [StepDefinition]

    public init(name: String, when: String? = nil, isDefault: Bool = false, steps: [StepDefinition]) {
        self.name = name
        self.when = when
        self.isDefault = isDefault
        self.steps = steps
    }

    enum CodingKeys: String, CodingKey {
        case name, when, steps
        case isDefault = "default"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        when = try container.decodeIfPresent(String.self, forKey: .when)
        isDefault = try container.decodeIfPresent(Bool.self, forKey: .isDefault) ?? false
        steps = try container.decode([StepDefinition].self, forKey: .steps)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encodeIfPresent(when, forKey: .when)
        if isDefault { try container.encode(true, forKey: .isDefault) }
        try container.encode(steps, forKey: .steps)
    }
}

/// One step of a branch: an integration call (completed by its result), or a step a person or an
/// app completes with `branch.complete`.
public struct StepDefinition: Sendable, Hashable, Codable {
    public var name: String
    /// The integration that performs the step (`webhook`, `email`, a plugin); nil = completed by `branch.complete`.
    public var integration: String?
    public var input: [String: FieldValue]?
    /// How to undo the step's side effect; required for integration steps.
    public var compensate: Compensation?

    public init(name: String, integration: String? = nil, input: [String: FieldValue]? = nil, compensate: Compensation? = nil) {
        self.name = name
        self.integration = integration
        self.input = input
        self.compensate = compensate
    }
}

public struct Compensation: Sendable, Hashable, Codable {
    public var integration: String
    public var input: [String: FieldValue]?

    public init(integration: String, input: [String: FieldValue]? = nil) {
        self.integration = integration
        self.input = input
    }
}

extension GatewayDefinition {
    /// Publish-time checks (DESIGN §4): known stages, a join that differs from the fork, named and
    /// distinct branches and steps, inclusive branches with conditions and exactly one default,
    /// parallel branches without, and a compensation for every step with a side effect.
    func problems(at path: String, stages: [String: StageDefinition], schema: ExpressionSchema) -> (problems: [DefinitionProblem], conditions: [String: CompiledExpression]) {
        var problems: [DefinitionProblem] = []
        var conditions: [String: CompiledExpression] = [:]
        func problem(_ at: String, _ message: String) { problems.append(DefinitionProblem(path: at, message: message)) }
        if !Names.isValid(name) { problem("\(path).name", "'\(name)' must be lower-case letters, digits and '_'") }
        if let fork = stages[stage] {
            if fork.terminal != nil { problem("\(path).stage", "stage '\(stage)' is terminal; a record never leaves it to run branches") }
        } else {
            problem("\(path).stage", "unknown stage '\(stage)'")
        }
        if stages[join] == nil { problem("\(path).join", "unknown stage '\(join)': the fork has no join") }
        if join == stage { problem("\(path).join", "the join must be another stage than the fork '\(stage)'") }
        if branches.isEmpty { problem("\(path).branches", "a gateway forks at least one branch") }
        var names: Set<String> = []
        for (index, branch) in branches.enumerated() {
            let at = "\(path).branches[\(index)]"
            if !Names.isValid(branch.name) { problem("\(at).name", "'\(branch.name)' must be lower-case letters, digits and '_'") }
            if !names.insert(branch.name).inserted { problem("\(at).name", "duplicate branch '\(branch.name)'") }
            if branch.steps.isEmpty { problem("\(at).steps", "a branch has at least one step") }
            var stepNames: Set<String> = []
            for (stepIndex, step) in branch.steps.enumerated() {
                let stepAt = "\(at).steps[\(stepIndex)]"
                if !Names.isValid(step.name) { problem("\(stepAt).name", "'\(step.name)' must be lower-case letters, digits and '_'") }
                if !stepNames.insert(step.name).inserted { problem("\(stepAt).name", "duplicate step '\(step.name)' in branch '\(branch.name)'") }
                if step.integration != nil, step.compensate == nil {
                    problem("\(stepAt).compensate", "step '\(step.name)' calls '\(step.integration!)' (a side effect) and declares no compensation")
                }
                if step.integration == nil, step.compensate != nil { problem("\(stepAt).compensate", "only an integration step has a compensation") }
            }
            switch kind {
            case .parallel:
                if branch.when != nil { problem("\(at).when", "parallel branches all start; only inclusive ones have conditions") }
                if branch.isDefault { problem("\(at).default", "only an inclusive gateway has a default branch") }
            case .inclusive:
                if branch.isDefault, branch.when != nil { problem("\(at).when", "the default branch starts when no condition holds; it has none itself") }
                if !branch.isDefault, branch.when == nil { problem("\(at).when", "an inclusive branch has a condition (or is the default)") }
                if let source = branch.when {
                    do {
                        conditions[branch.name] = try CompiledExpression.compile(source, schema: schema)
                    } catch {
                        problem("\(at).when", "\(error)")
                    }
                }
            }
        }
        if kind == .inclusive {
            let defaults = branches.filter(\.isDefault).count
            if defaults != 1 { problem("\(path).branches", "an inclusive gateway needs exactly one default branch (for when no condition holds); it has \(defaults)") }
        }
        return (problems, conditions)
    }
}
