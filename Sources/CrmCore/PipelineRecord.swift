/// A lead or an opportunity as stored: its stage, the definition version it started with, its data
/// and its version (incremented by every change; the optimistic concurrency check compares it).
public struct PipelineRecord: Sendable, Hashable, Codable {
    public let id: String
    public var stage: String
    public let definitionVersion: Int
    public var data: [String: FieldValue]
    public var version: Int
    /// The gateway run (parallel campaign, saga) in progress at the record's stage, if any.
    public var flow: GatewayRun?

    public init(id: String, stage: String, definitionVersion: Int, data: [String: FieldValue], version: Int, flow: GatewayRun? = nil) {
        self.id = id
        self.stage = stage
        self.definitionVersion = definitionVersion
        self.data = data
        self.version = version
        self.flow = flow
    }
}

/// The request to create a lead or an opportunity, already checked for shape by the adapter.
public struct CreateRecord: Sendable, Hashable {
    public let entity: EntityKind
    public let recordID: String
    public let data: [String: FieldValue]
    /// Pin a definition version; nil takes the latest.
    public let definitionVersion: Int?

    public init(entity: EntityKind = .lead, recordID: String, data: [String: FieldValue], definitionVersion: Int?) {
        self.entity = entity
        self.recordID = recordID
        self.data = data
        self.definitionVersion = definitionVersion
    }
}

/// What creating a record decides.
public enum RecordCreation: Sendable, Equatable {
    /// A new record, to be written at version 1.
    case created(PipelineRecord)
    /// The subject already has its one CRM instance: the same record is returned and nothing changes.
    case existing(PipelineRecord)
}

public enum RecordRules {
    /// Decides a `lead.create` or `opportunity.create` against what the store holds: the record if any,
    /// and the definition asked for.
    public static func create(_ command: CreateRecord, existing: PipelineRecord?, definition: CompiledDefinition?,
                              custom: CustomFields = .none) throws(DomainRejection) -> RecordCreation {
        if let existing { return .existing(existing) }
        guard let definition else {
            let entity = command.entity.rawValue
            let which = command.definitionVersion.map { "version \($0) of the \(entity) definition" } ?? "\(entity) definition"
            throw DomainRejection(code: "unknown_definition", message: "the tenant has no \(which); publish one with definition.publish first",
                                  field: command.definitionVersion == nil ? nil : "payload.definitionVersion")
        }
        guard definition.source.entity == command.entity else {
            throw DomainRejection(code: "unknown_definition", message: "definition version \(definition.version) describes the entity '\(definition.source.entity.rawValue)', not '\(command.entity.rawValue)'")
        }
        if let problem = FieldValidation.validate(command.data, rules: definition.source.fields + custom.fields, partial: false,
                                                  strict: !definition.source.fields.isEmpty) { throw problem }
        return .created(PipelineRecord(id: command.recordID, stage: definition.initialStage, definitionVersion: definition.version,
                                   data: command.data.filter { $0.value != .null }, version: 1))
    }

    /// Applies data changes (a `null` clears a field) to the record, checked against the field rules of
    /// the definition version the record started with. Returns the new record and each change.
    public static func update(_ record: PipelineRecord, changes: [String: FieldValue], expectedVersion: Int?,
                              definition: CompiledDefinition, custom: CustomFields = .none) throws(DomainRejection) -> (PipelineRecord, [FieldChange]) {
        try checkVersion(record, expectedVersion)
        if let problem = FieldValidation.validate(changes, rules: definition.source.fields + custom.fields, partial: true,
                                                  strict: !definition.source.fields.isEmpty) { throw problem }
        var updated = record
        var applied: [FieldChange] = []
        for key in changes.keys.sorted() {
            let old = record.data[key] ?? .null
            let new = changes[key]!
            guard old != new else { continue }
            applied.append(FieldChange(field: key, old: old, new: new))
            if new == .null { updated.data.removeValue(forKey: key) } else { updated.data[key] = new }
        }
        if applied.isEmpty { return (record, []) }
        updated.version += 1
        return (updated, applied)
    }

    /// Takes `action` from the record's stage: the first of the action's transitions from that stage
    /// whose condition holds; its guard must hold too.
    public static func apply(_ record: PipelineRecord, action: String, expectedVersion: Int?, definition: CompiledDefinition,
                             now: Double, actor: String = "", registry: ExtensionRegistry = .empty) throws(DomainRejection) -> StageChange {
        try checkVersion(record, expectedVersion)
        let candidates = definition.source.transitions.enumerated().filter { $0.element.action == action && $0.element.from.contains(record.stage) }
        guard !candidates.isEmpty else {
            let known = definition.source.transitions.contains { $0.action == action }
            throw DomainRejection(code: "invalid_transition",
                                  message: known ? "'\(action)' cannot be taken from stage '\(record.stage)'" : "the definition has no action '\(action)'",
                                  field: "payload.action")
        }
        let context = RecordContext(record: record, now: now, types: definition.fieldTypes)
        guard let (index, transition) = candidates.first(where: { definition.conditions[$0.offset]?.holds(context) ?? true }) else {
            throw DomainRejection(code: "invalid_transition", message: "no condition of '\(action)' holds for this record in stage '\(record.stage)'",
                                  field: "payload.action")
        }
        if let guardExpression = definition.guards[index], !guardExpression.holds(context) {
            throw DomainRejection(code: "guard_failed", message: "the guard of '\(action)' does not hold: \(guardExpression.source)", field: "payload.action")
        }
        // Registered conditions, then before hooks, in the order the definition lists them.
        let proposal = TransitionProposal(record: record, action: action, from: record.stage, to: transition.to, actor: actor)
        for name in transition.requires where registry.conditions[name]?(proposal) != true {
            throw DomainRejection(code: "guard_failed", message: "the condition '\(name)' of '\(action)' does not hold", field: "payload.action")
        }
        for name in transition.hooks.before {
            if case .veto(let reason)? = registry.beforeHooks[name]?(proposal) {
                throw DomainRejection(code: "vetoed", message: "'\(name)' vetoed '\(action)': \(reason)", field: "payload.action")
            }
        }
        var moved = record
        moved.stage = transition.to
        moved.version += 1
        return StageChange(record: moved, action: action, from: record.stage, to: transition.to, afterHooks: transition.hooks.after)
    }

    static func checkVersion(_ record: PipelineRecord, _ expected: Int?) throws(DomainRejection) {
        if let expected, expected != record.version {
            throw DomainRejection(code: "conflict", message: "the record is at version \(record.version), not \(expected); read it again", field: "payload.expectedVersion")
        }
    }
}

/// One field's change, with the values before and after (SEC-CRM-0461).
public struct FieldChange: Sendable, Hashable {
    public let field: String
    public let old: FieldValue
    public let new: FieldValue

    public init(field: String, old: FieldValue, new: FieldValue) {
        self.field = field
        self.old = old
        self.new = new
    }
}

/// A record moved by an action.
public struct StageChange: Sendable, Hashable {
    public let record: PipelineRecord
    public let action: String
    public let from: String
    public let to: String
    /// Registered after hooks to run once the change is committed, in order.
    public let afterHooks: [String]

    public init(record: PipelineRecord, action: String, from: String, to: String, afterHooks: [String] = []) {
        self.record = record
        self.action = action
        self.from = from
        self.to = to
        self.afterHooks = afterHooks
    }
}

/// A record as expressions see it: `stage`, `version`, `data.<field>` (dates as instants).
struct RecordContext: ExpressionContext {
    let record: PipelineRecord
    let now: Double
    let types: [String: FieldType]

    func value(of path: [String]) -> ExpressionValue {
        switch path.first {
        case "stage": return .string(record.stage)
        case "version": return .number(Double(record.version))
        case "data" where path.count == 2:
            let value = record.data[path[1]] ?? .null
            if types[path[1]] == .date, case .string(let text) = value { return FieldFormats.date(text).map(ExpressionValue.date) ?? .null }
            return Self.expressionValue(value)
        default: return .null
        }
    }

    static func expressionValue(_ value: FieldValue) -> ExpressionValue {
        switch value {
        case .null: return .null
        case .bool(let flag): return .bool(flag)
        case .integer(let number): return .number(Double(number))
        case .number(let number): return .number(number)
        case .string(let text): return .string(text)
        case .list(let items): return .list(items.map(expressionValue))
        }
    }
}
