/// A transition about to happen, as registered Swift conditions and hooks see it.
public struct TransitionProposal: Sendable, Hashable {
    public let record: PipelineRecord
    public let action: String
    public let from: String
    public let to: String
    public let actor: String
}

/// What a before hook decides.
public enum HookVerdict: Sendable, Equatable {
    case proceed
    /// Refuse the action; the reason reaches the caller in `command.rejected` (code `vetoed`).
    case veto(String)
}

/// Swift code an application registers by name (FUN-CRM-0221 custom conditions, FUN-CRM-0267 hooks):
/// a definition's transitions refer to these names (`requires`, `hooks.before`, `hooks.after`), and
/// publishing a definition that names an unregistered one is refused.
public struct ExtensionRegistry: Sendable {
    public typealias Condition = @Sendable (TransitionProposal) -> Bool
    public typealias BeforeHook = @Sendable (TransitionProposal) -> HookVerdict
    public typealias AfterHook = @Sendable (StageChange) async -> Void

    public typealias Trigger = @Sendable (TriggeredEvent) -> TriggerAction?

    public private(set) var conditions: [String: Condition] = [:]
    public private(set) var beforeHooks: [String: BeforeHook] = [:]
    public private(set) var afterHooks: [String: AfterHook] = [:]
    /// Triggers by name: the event type each watches, and what it makes of an event.
    public private(set) var triggers: [String: (eventType: String, body: Trigger)] = [:]

    public init() {}

    public static let empty = ExtensionRegistry()

    public mutating func condition(_ name: String, _ body: @escaping Condition) { conditions[name] = body }
    public mutating func before(_ name: String, _ body: @escaping BeforeHook) { beforeHooks[name] = body }
    public mutating func after(_ name: String, _ body: @escaping AfterHook) { afterHooks[name] = body }
    /// A trigger (an event pattern that starts a transition): pipeline-service watches `eventType` on
    /// the events stream and, when `body` returns an action, applies it to that record as the event's
    /// actor, through every rule of the definition (guards, permissions, approvals, gateways).
    public mutating func trigger(_ name: String, on eventType: String, _ body: @escaping Trigger) { triggers[name] = (eventType, body) }

    /// The event types some trigger watches.
    public var triggerEventTypes: Set<String> { Set(triggers.values.map(\.eventType)) }

    /// Problems with the names a definition uses.
    func problems(in definition: PipelineDefinition) -> [DefinitionProblem] {
        var problems: [DefinitionProblem] = []
        for (index, transition) in definition.transitions.enumerated() {
            for name in transition.requires where conditions[name] == nil {
                problems.append(DefinitionProblem(path: "transitions[\(index)].requires", message: "no registered condition '\(name)'"))
            }
            for name in transition.hooks.before where beforeHooks[name] == nil {
                problems.append(DefinitionProblem(path: "transitions[\(index)].hooks.before", message: "no registered before hook '\(name)'"))
            }
            for name in transition.hooks.after where afterHooks[name] == nil {
                problems.append(DefinitionProblem(path: "transitions[\(index)].hooks.after", message: "no registered after hook '\(name)'"))
            }
        }
        return problems
    }
}

/// The hooks a transition runs, by registered name, in order.
public struct TransitionHookNames: Sendable, Hashable, Codable {
    public var before: [String]
    public var after: [String]

    public init(before: [String] = [], after: [String] = []) {
        self.before = before
        self.after = after
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        before = try container.decodeIfPresent([String].self, forKey: .before) ?? []
        after = try container.decodeIfPresent([String].self, forKey: .after) ?? []
    }
}

/// An event as a trigger sees it: its type, tenant, actor and top-level payload fields.
public struct TriggeredEvent: Sendable, Hashable {
    public let type: String
    public let tenant: String
    public let actor: String
    public let fields: [String: FieldValue]

    public init(type: String, tenant: String, actor: String, fields: [String: FieldValue]) {
        self.type = type
        self.tenant = tenant
        self.actor = actor
        self.fields = fields
    }
}

/// What a trigger starts: an action on one of the tenant's records.
public struct TriggerAction: Sendable, Hashable {
    public let entity: EntityKind
    public let id: String
    public let action: String

    public init(entity: EntityKind, id: String, action: String) {
        self.entity = entity
        self.id = id
        self.action = action
    }
}
