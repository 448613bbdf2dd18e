/// One level of the escalation of stale records: when a record has seen no activity for `after`
/// (and `condition` holds on it), `action` goes to `to`. E.g. 24 h notify the owner, 48 h reassign to
/// the manager, 72 h reassign to the director. Any activity on the record starts the count again.
public struct EscalationLevel: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Hashable, Codable, CaseIterable {
        case notify, reassign
    }

    /// ISO 8601 duration of inactivity.
    public var after: String
    /// An expression over the record (like a transition's condition); none always holds.
    public var condition: String?
    public var action: Action
    /// Who is notified or becomes the assignee: a role (`manager`) or `owner`.
    public var to: String

    public init(after: String, condition: String? = nil, action: Action, to: String) {
        self.after = after
        self.condition = condition
        self.action = action
        self.to = to
    }
}

/// An escalation level that will fire for a record unless it sees activity first.
public struct PlannedEscalation: Sendable, Hashable {
    /// 1-based, in the definition's order.
    public let level: Int
    public let rule: EscalationLevel
    public let dueAt: Int64
    /// Who the previous level went to (`owner` before the first).
    public let from: String
}

public enum Escalations {
    public static let maximumLevels = 10

    /// Problems of a definition's `escalation` levels: durations, strictly increasing, conditions, targets.
    public static func problems(in definition: PipelineDefinition) -> [DefinitionProblem] {
        var problems: [DefinitionProblem] = []
        func problem(_ path: String, _ message: String) { problems.append(DefinitionProblem(path: path, message: message)) }
        if definition.escalation.count > maximumLevels { problem("escalation", "more than \(maximumLevels) levels") }
        var previous: Int64 = 0
        for (index, level) in definition.escalation.enumerated() {
            let path = "escalation[\(index)]"
            do {
                let after = try ISODuration.parse(level.after).milliseconds
                if after <= previous { problem("\(path).after", "each level comes after the one before it (\(level.after) is not later)") }
                previous = after
            } catch {
                problem("\(path).after", "\(error)")
            }
            if let condition = level.condition {
                do {
                    _ = try CompiledExpression.compile(condition, schema: definition.expressionSchema)
                } catch {
                    problem("\(path).condition", "\(error)")
                }
            }
            if !Names.isValid(level.to) { problem("\(path).to", "'\(level.to)' must be a role name such as owner or manager") }
        }
        return problems
    }

    /// The levels that will fire for `record`, last active at `lastActivity` (ms), in order: none in a
    /// terminal stage, and only those whose condition holds on the record as it is now (a change to
    /// the record is activity, which plans again).
    public static func plan(definition: PipelineDefinition, record: PipelineRecord, lastActivity: Int64) -> [PlannedEscalation] {
        guard let stage = definition.stages.first(where: { $0.name == record.stage }), stage.terminal == nil else { return [] }
        let context = RecordContext(record: record, now: Double(lastActivity) / 1000, types: Dictionary(definition.fields.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first }))
        var planned: [PlannedEscalation] = []
        var from = "owner"
        for (index, level) in definition.escalation.enumerated() {
            guard let after = try? ISODuration.parse(level.after) else { continue }
            if let condition = level.condition {
                guard let compiled = try? CompiledExpression.compile(condition, schema: definition.expressionSchema), compiled.holds(context) else { continue }
            }
            planned.append(PlannedEscalation(level: index + 1, rule: level, dueAt: lastActivity + after.milliseconds, from: from))
            from = level.to
        }
        return planned
    }
}
