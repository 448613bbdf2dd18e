public import CrmCore

/// Reads the time-driven parts of a `definition.publish` payload: `sla` (policies per stage),
/// `calendars` (business hours by name) and `escalation` (levels for stale records). All are
/// optional; the definition compiler checks their meaning.
public enum SlaDefinitionPayload {
    /// The payload keys this reader owns, for the definition reader's list of known fields.
    public static let keys: Set<String> = ["sla", "calendars", "escalation"]

    /// Reads all three into `definition`.
    public static func read(_ reader: PayloadReader, into definition: inout PipelineDefinition) throws(PayloadError) {
        definition.sla = try policies(reader)
        definition.calendars = try calendars(reader)
        definition.escalation = try escalation(reader)
    }

    public static func escalation(_ reader: PayloadReader) throws(PayloadError) -> [EscalationLevel] {
        try reader.objects("escalation", required: false, maxCount: Escalations.maximumLevels).map { (level: PayloadReader) throws(PayloadError) -> EscalationLevel in
            try level.allowOnly(["after", "condition", "action", "to"])
            let actionName = try level.string("action", maxLength: 32)
            guard let action = EscalationLevel.Action(rawValue: actionName) else {
                throw PayloadError(field: level.at("action"), reason: "must be one of \(EscalationLevel.Action.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return EscalationLevel(after: try level.string("after", maxLength: 64), condition: try level.optionalString("condition", maxLength: 2000),
                                   action: action, to: try level.string("to", maxLength: 63))
        }
    }

    public static func policies(_ reader: PayloadReader) throws(PayloadError) -> [SlaPolicy] {
        try reader.objects("sla", required: false, maxCount: SlaRules.maximumPolicies).map { (policy: PayloadReader) throws(PayloadError) -> SlaPolicy in
            try policy.allowOnly(["stage", "name", "within", "warnAt", "calendar", "pauseWhen", "onBreach"])
            let onBreach = try policy.objects("onBreach", required: false, maxCount: 10).map { (action: PayloadReader) throws(PayloadError) -> BreachAction in
                try action.allowOnly(["action", "to"])
                return BreachAction(action: try action.string("action", maxLength: 32), to: try action.string("to", maxLength: 63))
            }
            return SlaPolicy(stage: try policy.string("stage", maxLength: 63), name: try policy.string("name", maxLength: 63),
                             within: try policy.string("within", maxLength: 64), warnAt: try policy.optionalNumber("warnAt"),
                             calendar: try policy.optionalString("calendar", maxLength: 63),
                             pauseWhen: try policy.optionalString("pauseWhen", maxLength: 2000), onBreach: onBreach)
        }
    }

    public static func calendars(_ reader: PayloadReader) throws(PayloadError) -> [String: BusinessCalendar] {
        guard let calendars = try reader.optionalObject("calendars") else { return [:] }
        guard calendars.fields.count <= SlaRules.maximumCalendars else {
            throw PayloadError(field: calendars.path, reason: "has more than \(SlaRules.maximumCalendars) calendars")
        }
        var result: [String: BusinessCalendar] = [:]
        for name in calendars.fields.keys.sorted() {
            let calendar = try PayloadReader(calendars.fields[name]!, path: calendars.at(name))
            try calendar.allowOnly(["timeZone", "days", "start", "end", "holidays"])
            result[name] = BusinessCalendar(
                timeZone: try calendar.optionalString("timeZone", maxLength: 64) ?? "UTC",
                days: try calendar.strings("days", maxCount: 7, rule: { _ in true }, expected: "a day name"),
                start: try calendar.string("start", maxLength: 5), end: try calendar.string("end", maxLength: 5),
                holidays: try calendar.strings("holidays", required: false, maxCount: 1000, rule: { _ in true }, expected: "a date"))
        }
        return result
    }
}
