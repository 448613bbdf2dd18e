/// The record kinds a definition can describe.
public enum EntityKind: String, Sendable, Codable, CaseIterable {
    case lead, opportunity
}

/// How a terminal stage ends a record.
public enum TerminalOutcome: String, Sendable, Codable {
    case won, lost
}

public struct StageDefinition: Sendable, Hashable, Codable {
    public var name: String
    public var label: String?
    public var initial: Bool
    public var terminal: TerminalOutcome?

    public init(name: String, label: String? = nil, initial: Bool = false, terminal: TerminalOutcome? = nil) {
        self.name = name
        self.label = label
        self.initial = initial
        self.terminal = terminal
    }

    /// As published: `initial` may be left out (false), as in the contracts' examples.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        label = try container.decodeIfPresent(String.self, forKey: .label)
        initial = try container.decodeIfPresent(Bool.self, forKey: .initial) ?? false
        terminal = try container.decodeIfPresent(TerminalOutcome.self, forKey: .terminal)
    }
}

/// An action that moves a record from one of `from` to `to`. When several transitions share an
/// action and a source stage, the first whose `condition` holds is taken (conditional routing); a
/// `guard` must hold or the action is refused with `guard_failed`. Both are expressions.
public struct TransitionDefinition: Sendable, Hashable, Codable {
    public var action: String
    public var from: [String]
    public var to: String
    public var condition: String?
    public var guardExpression: String?
    /// Registered Swift conditions that must all hold (after the guard).
    public var requires: [String]
    /// Registered hooks: `before` may veto, `after` sees the committed change.
    public var hooks: TransitionHookNames
    /// Taken only once an approval of this action on the record was approved (`approval.request`),
    /// and each approval lets it through once.
    public var requiresApproval: Bool
    /// Taken by itself when the record's data changes (or it is created) and its condition holds:
    /// conditional routing; an automatic transition without a condition is the default branch.
    public var automatic: Bool

    public init(action: String, from: [String], to: String, condition: String? = nil, guard guardExpression: String? = nil,
                requires: [String] = [], hooks: TransitionHookNames = TransitionHookNames(), requiresApproval: Bool = false, automatic: Bool = false) {
        self.action = action
        self.from = from
        self.to = to
        self.condition = condition
        self.guardExpression = guardExpression
        self.requires = requires
        self.hooks = hooks
        self.requiresApproval = requiresApproval
        self.automatic = automatic
    }

    enum CodingKeys: String, CodingKey {
        case action, from, to, condition, requires, hooks
        case guardExpression = "guard"
        case requiresApproval = "approval"
        case automatic = "auto"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(action, forKey: .action)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encodeIfPresent(condition, forKey: .condition)
        try container.encodeIfPresent(guardExpression, forKey: .guardExpression)
        try container.encode(requires, forKey: .requires)
        try container.encode(hooks, forKey: .hooks)
        if requiresApproval { try container.encode(true, forKey: .requiresApproval) }
        if automatic { try container.encode(true, forKey: .automatic) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        action = try container.decode(String.self, forKey: .action)
        from = try container.decode([String].self, forKey: .from)
        to = try container.decode(String.self, forKey: .to)
        condition = try container.decodeIfPresent(String.self, forKey: .condition)
        guardExpression = try container.decodeIfPresent(String.self, forKey: .guardExpression)
        requires = try container.decodeIfPresent([String].self, forKey: .requires) ?? []
        hooks = try container.decodeIfPresent(TransitionHookNames.self, forKey: .hooks) ?? TransitionHookNames()
        requiresApproval = try container.decodeIfPresent(Bool.self, forKey: .requiresApproval) ?? false
        automatic = try container.decodeIfPresent(Bool.self, forKey: .automatic) ?? false
    }
}

/// A tenant's pipeline for one entity, as published (Level 2: JSON stored in Redis, versioned).
public struct PipelineDefinition: Sendable, Hashable, Codable {
    public var entity: EntityKind
    public var name: String
    public var stages: [StageDefinition]
    public var transitions: [TransitionDefinition]
    /// Data rules of the record's fields; none means the data is free-form.
    public var fields: [FieldRule]
    /// Roles allowed per permission (`create`, `update`, an action); none means open to every actor.
    public var permissions: [String: [String]]
    /// Forks at stages: parallel campaigns and inclusive gateways.
    public var gateways: [GatewayDefinition]
    /// Service-level promises per stage (SLA clocks); none by default.
    public var sla: [SlaPolicy]
    /// Business-hours calendars the SLA policies name; none by default.
    public var calendars: [String: BusinessCalendar]
    /// Escalation levels for stale records; none by default.
    public var escalation: [EscalationLevel]

    enum CodingKeys: String, CodingKey {
        case entity, name, stages, transitions, fields, permissions, gateways, sla, calendars, escalation
    }

    public init(entity: EntityKind, name: String, stages: [StageDefinition], transitions: [TransitionDefinition] = [],
                fields: [FieldRule] = [], permissions: [String: [String]] = [:], gateways: [GatewayDefinition] = [], sla: [SlaPolicy] = [],
                calendars: [String: BusinessCalendar] = [:], escalation: [EscalationLevel] = []) {
        self.entity = entity
        self.name = name
        self.stages = stages
        self.transitions = transitions
        self.fields = fields
        self.permissions = permissions
        self.gateways = gateways
        self.sla = sla
        self.calendars = calendars
        self.escalation = escalation
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        entity = try container.decode(EntityKind.self, forKey: .entity)
        name = try container.decode(String.self, forKey: .name)
        stages = try container.decode([StageDefinition].self, forKey: .stages)
        transitions = try container.decodeIfPresent([TransitionDefinition].self, forKey: .transitions) ?? []
        // Definitions stored before field rules existed have none.
        fields = try container.decodeIfPresent([FieldRule].self, forKey: .fields) ?? []
        permissions = try container.decodeIfPresent([String: [String]].self, forKey: .permissions) ?? [:]
        gateways = try container.decodeIfPresent([GatewayDefinition].self, forKey: .gateways) ?? []
        // Definitions stored before SLA policies existed have none.
        sla = try container.decodeIfPresent([SlaPolicy].self, forKey: .sla) ?? []
        calendars = try container.decodeIfPresent([String: BusinessCalendar].self, forKey: .calendars) ?? [:]
        escalation = try container.decodeIfPresent([EscalationLevel].self, forKey: .escalation) ?? []
    }

    /// Leaves out empty gateways, SLA policies, calendars and escalation levels, so definitions
    /// without them store as they did before those existed.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(entity, forKey: .entity)
        try container.encode(name, forKey: .name)
        try container.encode(stages, forKey: .stages)
        try container.encode(transitions, forKey: .transitions)
        try container.encode(fields, forKey: .fields)
        try container.encode(permissions, forKey: .permissions)
        if !gateways.isEmpty { try container.encode(gateways, forKey: .gateways) }
        if !sla.isEmpty { try container.encode(sla, forKey: .sla) }
        if !calendars.isEmpty { try container.encode(calendars, forKey: .calendars) }
        if !escalation.isEmpty { try container.encode(escalation, forKey: .escalation) }
    }

    /// What expressions of this definition may read: `stage`, `version` and `data.<field>`
    /// (any `data.*` name when the data is free-form is not known in advance, so none is allowed).
    public var expressionSchema: ExpressionSchema {
        var fields: [String: ExpressionType] = ["stage": .string, "version": .number]
        for rule in self.fields { fields["data.\(rule.name)"] = rule.type.expressionType }
        return ExpressionSchema(fields)
    }
}

/// One problem found while compiling a definition, with where it is.
public struct DefinitionProblem: Sendable, Hashable, CustomStringConvertible {
    public let path: String
    public let message: String

    public var description: String { "\(path): \(message)" }
}

/// Every problem of a rejected definition, reported together so an author fixes them in one go.
public struct DefinitionErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public let problems: [DefinitionProblem]

    public var description: String { problems.map(\.description).joined(separator: "; ") }
}

/// A definition that passed every check, with lookups prepared for deciding actions.
public struct CompiledDefinition: Sendable, Hashable {
    public let source: PipelineDefinition
    public let version: Int
    public let initialStage: String
    public let stageNames: [String]
    /// Field types by name, for reading record data.
    public var fieldTypes: [String: FieldType] { Dictionary(source.fields.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first }) }
    /// Each transition's compiled condition and guard, by transition index.
    public let conditions: [Int: CompiledExpression]
    public let guards: [Int: CompiledExpression]
    /// Inclusive branches' conditions, by gateway and branch name.
    public let branchConditions: [String: [String: CompiledExpression]]

    /// The gateway that forks at `stage`, if one does.
    public func gateway(at stage: String) -> GatewayDefinition? { source.gateways.first { $0.stage == stage } }

    /// The one action that may leave a terminal (won or lost) stage.
    public static let reopenAction = "reopen"

    /// Checks the whole definition and lists every problem: names, duplicates, exactly one initial
    /// stage, transitions between known stages, no way out of a terminal stage, every stage reachable.
    public static func compile(_ definition: PipelineDefinition, version: Int, registry: ExtensionRegistry = .empty) throws(DefinitionErrors) -> CompiledDefinition {
        var problems: [DefinitionProblem] = []
        func problem(_ path: String, _ message: String) { problems.append(DefinitionProblem(path: path, message: message)) }

        if definition.stages.isEmpty { problem("stages", "a definition needs at least one stage") }
        var stages: [String: StageDefinition] = [:]
        for (index, stage) in definition.stages.enumerated() {
            if !Names.isValid(stage.name) { problem("stages[\(index)].name", "'\(stage.name)' must be lower-case letters, digits and '_', starting with a letter") }
            if stages[stage.name] != nil { problem("stages[\(index)].name", "duplicate stage '\(stage.name)'") }
            if stage.initial, stage.terminal != nil { problem("stages[\(index)]", "stage '\(stage.name)' cannot be both initial and terminal") }
            stages[stage.name] = stage
        }
        let initials = definition.stages.filter(\.initial).map(\.name)
        if initials.isEmpty, !definition.stages.isEmpty { problem("stages", "exactly one stage must be initial; none is") }
        if initials.count > 1 { problem("stages", "exactly one stage must be initial; \(initials.joined(separator: ", ")) are") }

        var seenMoves: Set<String> = []
        var edges: [String: Set<String>] = [:]
        for (index, transition) in definition.transitions.enumerated() {
            let path = "transitions[\(index)]"
            if !Names.isValid(transition.action) { problem("\(path).action", "'\(transition.action)' must be lower-case letters, digits and '_'") }
            if stages[transition.to] == nil { problem("\(path).to", "unknown stage '\(transition.to)'") }
            if transition.from.isEmpty { problem("\(path).from", "a transition starts from at least one stage") }
            if transition.automatic, transition.requiresApproval {
                problem(path, "an automatic transition cannot wait for an approval; take it with an action instead")
            }
            for source in transition.from {
                guard let stage = stages[source] else {
                    problem("\(path).from", "unknown stage '\(source)'")
                    continue
                }
                if stage.terminal != nil, transition.action != Self.reopenAction {
                    problem("\(path).from", "stage '\(source)' is terminal; only a '\(Self.reopenAction)' transition leaves it")
                }
                // Several transitions of one action from one stage route by their conditions; an
                // unconditional one must come last, or those after it could never be taken.
                if seenMoves.contains("\(transition.action)@\(source)") {
                    problem(path, "action '\(transition.action)' from stage '\(source)' already has a transition without a condition before this one")
                }
                if transition.condition == nil { seenMoves.insert("\(transition.action)@\(source)") }
                edges[source, default: []].insert(transition.to)
            }
        }
        // Gateways: each forks at a stage and joins at another, which the join makes reachable.
        var branchConditions: [String: [String: CompiledExpression]] = [:]
        var forkStages: Set<String> = []
        for (index, gateway) in definition.gateways.enumerated() {
            let (found, conditions) = gateway.problems(at: "gateways[\(index)]", stages: stages, schema: definition.expressionSchema)
            problems += found
            branchConditions[gateway.name] = conditions
            if !forkStages.insert(gateway.stage).inserted { problem("gateways[\(index)].stage", "stage '\(gateway.stage)' already forks another gateway") }
            if definition.gateways.prefix(index).contains(where: { $0.name == gateway.name }) {
                problem("gateways[\(index)].name", "duplicate gateway '\(gateway.name)'")
            }
            if stages[gateway.stage] != nil, stages[gateway.join] != nil { edges[gateway.stage, default: []].insert(gateway.join) }
        }
        if let start = initials.first, initials.count == 1 {
            var reached: Set<String> = [start]
            var frontier = [start]
            while let stage = frontier.popLast() {
                for next in edges[stage, default: []] where reached.insert(next).inserted { frontier.append(next) }
            }
            for stage in definition.stages where !reached.contains(stage.name) && stages[stage.name] != nil {
                problem("stages", "stage '\(stage.name)' cannot be reached from the initial stage '\(start)'")
            }
        }
        var fieldNames: Set<String> = []
        for (index, rule) in definition.fields.enumerated() {
            let path = "fields[\(index)]"
            if !Names.isValid(rule.name) { problem("\(path).name", "'\(rule.name)' must be lower-case letters, digits and '_', starting with a letter") }
            if !fieldNames.insert(rule.name).inserted { problem("\(path).name", "duplicate field '\(rule.name)'") }
            if rule.type == .enum, (rule.values ?? []).isEmpty { problem("\(path).values", "an enum field lists its values") }
            if rule.type != .enum, rule.values != nil { problem("\(path).values", "only enum fields list values") }
            if let min = rule.min, let max = rule.max, min > max { problem("\(path)", "min is greater than max") }
            if let min = rule.minLength, let max = rule.maxLength, min > max { problem("\(path)", "minLength is greater than maxLength") }
        }
        let actions = Set(definition.transitions.map(\.action))
        for (permission, roles) in definition.permissions.sorted(by: { $0.key < $1.key }) {
            if permission != "create", permission != "update", !actions.contains(permission) {
                problem("permissions.\(permission)", "is neither create, update nor an action of a transition")
            }
            if roles.isEmpty { problem("permissions.\(permission)", "lists no role") }
            for role in roles where !Names.isValid(role) { problem("permissions.\(permission)", "'\(role)' is not a role name") }
        }
        var conditions: [Int: CompiledExpression] = [:]
        var guards: [Int: CompiledExpression] = [:]
        let schema = definition.expressionSchema
        for (index, transition) in definition.transitions.enumerated() {
            for (key, source) in [("condition", transition.condition), ("guard", transition.guardExpression)] {
                guard let source else { continue }
                do {
                    let compiled = try CompiledExpression.compile(source, schema: schema)
                    if key == "condition" { conditions[index] = compiled } else { guards[index] = compiled }
                } catch {
                    problem("transitions[\(index)].\(key)", "\(error)")
                }
            }
        }
        // A cycle with no way out to a terminal stage would hold records forever.
        let terminals = Set(definition.stages.filter { $0.terminal != nil }.map(\.name))
        if !terminals.isEmpty {
            for stage in definition.stages where stages[stage.name] != nil && stage.terminal == nil {
                var reached: Set<String> = []
                var frontier = Array(edges[stage.name, default: []])
                while let next = frontier.popLast() {
                    if reached.insert(next).inserted { frontier += edges[next, default: []] }
                }
                if reached.contains(stage.name), reached.isDisjoint(with: terminals) {
                    problem("stages", "stage '\(stage.name)' is in a cycle with no way out to a terminal stage")
                }
            }
        }
        problems += SlaRules.problems(in: definition)
        problems += Escalations.problems(in: definition)
        problems += registry.problems(in: definition)
        guard problems.isEmpty, let initial = initials.first else { throw DefinitionErrors(problems: problems) }
        return CompiledDefinition(source: definition, version: version, initialStage: initial, stageNames: definition.stages.map(\.name),
                                  conditions: conditions, guards: guards, branchConditions: branchConditions)
    }
}

/// The naming rule of stages and actions: `^[a-z][a-z0-9_]{0,62}$`.
public enum Names {
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 63, (97...122).contains(first) else { return false }
        return bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }
    }
}
