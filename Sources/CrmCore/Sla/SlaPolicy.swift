/// A service-level promise on records in one stage, e.g. first response within four business hours
/// on `new` leads: `{"stage":"new","name":"first_response","within":"PT4H","warnAt":0.8,"calendar":"business"}`.
/// The clock starts when a record enters the stage and stops (met) when it leaves it.
public struct SlaPolicy: Sendable, Hashable, Codable {
    public var stage: String
    public var name: String
    /// ISO 8601 duration; on a calendar it counts working time only.
    public var within: String
    /// The share of `within` after which the record is at risk (default 0.8).
    public var warnAt: Double?
    /// A calendar of the definition's `calendars`; none counts wall-clock time.
    public var calendar: String?
    /// An expression over the record (like a transition's condition): while it holds, the clock is
    /// paused, e.g. `data.waiting_on == 'customer'`.
    public var pauseWhen: String?
    /// What a breach asks of the other services (notify someone, reassign, escalate), carried in `sla.breached`.
    public var onBreach: [BreachAction]

    public static let defaultWarnAt = 0.8

    public init(stage: String, name: String, within: String, warnAt: Double? = nil, calendar: String? = nil, pauseWhen: String? = nil,
                onBreach: [BreachAction] = []) {
        self.stage = stage
        self.name = name
        self.within = within
        self.warnAt = warnAt
        self.calendar = calendar
        self.pauseWhen = pauseWhen
        self.onBreach = onBreach
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        stage = try container.decode(String.self, forKey: .stage)
        name = try container.decode(String.self, forKey: .name)
        within = try container.decode(String.self, forKey: .within)
        warnAt = try container.decodeIfPresent(Double.self, forKey: .warnAt)
        calendar = try container.decodeIfPresent(String.self, forKey: .calendar)
        pauseWhen = try container.decodeIfPresent(String.self, forKey: .pauseWhen)
        onBreach = try container.decodeIfPresent([BreachAction].self, forKey: .onBreach) ?? []
    }

    public var warningShare: Double { warnAt ?? Self.defaultWarnAt }

    /// Whether the record, as it is now, pauses this SLA's clock (false without `pauseWhen`).
    public func pauses(_ record: PipelineRecord, in definition: PipelineDefinition, at instant: Int64) -> Bool {
        guard let pauseWhen, let compiled = try? CompiledExpression.compile(pauseWhen, schema: definition.expressionSchema) else { return false }
        let types = Dictionary(definition.fields.map { ($0.name, $0.type) }, uniquingKeysWith: { first, _ in first })
        return compiled.holds(RecordContext(record: record, now: Double(instant) / 1000, types: types))
    }
}

/// One thing a breach asks for: `notify` someone, `reassign` the record, or `escalate` it, `to` a role.
public struct BreachAction: Sendable, Hashable, Codable {
    public static let actions = ["notify", "reassign", "escalate"]

    public var action: String
    public var to: String

    public init(action: String, to: String) {
        self.action = action
        self.to = to
    }
}

/// The SLA checks of definition compilation.
public enum SlaRules {
    /// At most this many SLA policies per definition.
    public static let maximumPolicies = 50
    /// At most this many calendars per definition.
    public static let maximumCalendars = 20

    public static func problems(in definition: PipelineDefinition) -> [DefinitionProblem] {
        var problems: [DefinitionProblem] = []
        func problem(_ path: String, _ message: String) { problems.append(DefinitionProblem(path: path, message: message)) }
        if definition.sla.count > maximumPolicies { problem("sla", "more than \(maximumPolicies) SLA policies") }
        if definition.calendars.count > maximumCalendars { problem("calendars", "more than \(maximumCalendars) calendars") }
        for (name, calendar) in definition.calendars.sorted(by: { $0.key < $1.key }) {
            if !Names.isValid(name) { problem("calendars.\(name)", "'\(name)' must be lower-case letters, digits and '_', starting with a letter") }
            problems += calendar.problems(at: "calendars.\(name)")
        }
        let stages = Set(definition.stages.map(\.name))
        var seen: Set<String> = []
        for (index, policy) in definition.sla.enumerated() {
            let path = "sla[\(index)]"
            if !stages.contains(policy.stage) { problem("\(path).stage", "unknown stage '\(policy.stage)'") }
            if let stage = definition.stages.first(where: { $0.name == policy.stage }), stage.terminal != nil {
                problem("\(path).stage", "stage '\(policy.stage)' is terminal: a record never leaves it, so the SLA could never be met")
            }
            if !Names.isValid(policy.name) { problem("\(path).name", "'\(policy.name)' must be lower-case letters, digits and '_', starting with a letter") }
            if !seen.insert(policy.name).inserted { problem("\(path).name", "duplicate SLA name '\(policy.name)'") }
            do {
                _ = try ISODuration.parse(policy.within)
            } catch {
                problem("\(path).within", "\(error)")
            }
            if let warnAt = policy.warnAt, !(warnAt > 0 && warnAt < 1) { problem("\(path).warnAt", "must be greater than 0 and less than 1, not \(warnAt)") }
            if let pauseWhen = policy.pauseWhen {
                do {
                    _ = try CompiledExpression.compile(pauseWhen, schema: definition.expressionSchema)
                } catch {
                    problem("\(path).pauseWhen", "\(error)")
                }
            }
            if policy.onBreach.count > 10 { problem("\(path).onBreach", "more than 10 actions") }
            for (actionIndex, action) in policy.onBreach.enumerated() {
                if !BreachAction.actions.contains(action.action) {
                    problem("\(path).onBreach[\(actionIndex)].action", "'\(action.action)' is not one of \(BreachAction.actions.joined(separator: ", "))")
                }
                if !Names.isValid(action.to) { problem("\(path).onBreach[\(actionIndex)].to", "'\(action.to)' must be a role name such as owner or manager") }
            }
            if let calendar = policy.calendar, definition.calendars[calendar] == nil {
                problem("\(path).calendar", "unknown calendar '\(calendar)'; the definition's calendars are: \(definition.calendars.keys.sorted().joined(separator: ", "))")
            }
        }
        return problems
    }
}
