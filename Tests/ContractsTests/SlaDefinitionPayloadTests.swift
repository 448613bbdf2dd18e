import Contracts
import CrmCore
import Testing

/// FUN-CRM-0286, FUN-CRM-0285: the `sla`, `calendars` and `escalation` parts of definition.publish.
@Suite("SLA parts of a definition payload")
struct SlaDefinitionPayloadTests {
    @Test("policies, calendars and escalation levels are read; absent ones are empty")
    func reads() throws {
        let payload: JSONValue = [
            "sla": [["stage": "new", "name": "first_response", "within": "PT4H", "warnAt": 0.8, "calendar": "business"]],
            "calendars": ["business": ["timeZone": "Europe/London", "days": ["mon", "tue"], "start": "09:00", "end": "17:00", "holidays": ["2026-12-25"]]],
            "escalation": [["after": "PT24H", "action": "notify", "to": "owner"], ["after": "PT48H", "condition": "data.score > 50", "action": "reassign", "to": "manager"]],
        ]
        var definition = PipelineDefinition(entity: .lead, name: "x", stages: [])
        try SlaDefinitionPayload.read(try PayloadReader(payload), into: &definition)
        #expect(definition.sla == [SlaPolicy(stage: "new", name: "first_response", within: "PT4H", warnAt: 0.8, calendar: "business")])
        #expect(definition.calendars["business"] == BusinessCalendar(timeZone: "Europe/London", days: ["mon", "tue"], start: "09:00", end: "17:00", holidays: ["2026-12-25"]))
        #expect(definition.escalation.map(\.to) == ["owner", "manager"])
        var empty = PipelineDefinition(entity: .lead, name: "x", stages: [])
        try SlaDefinitionPayload.read(try PayloadReader([:]), into: &empty)
        #expect(empty.sla.isEmpty && empty.calendars.isEmpty && empty.escalation.isEmpty)
    }

    @Test("wrong and unknown fields name their path", arguments: [
        (["sla": [["stage": "new", "name": "x"]]] as JSONValue, "payload.sla[0].within"),
        (["sla": [["stage": "new", "name": "x", "within": "PT1H", "colour": "red"]]] as JSONValue, "payload.sla[0].colour"),
        (["calendars": ["office": ["days": "mon", "start": "09:00", "end": "17:00"]]] as JSONValue, "payload.calendars.office.days"),
        (["calendars": ["office": ["days": ["mon"], "start": "09:00"]]] as JSONValue, "payload.calendars.office.end"),
        (["escalation": [["after": "PT1H", "action": "shout", "to": "owner"]]] as JSONValue, "payload.escalation[0].action"),
        (["escalation": "often"] as JSONValue, "payload.escalation"),
    ])
    func refuses(payload: JSONValue, field: String) throws {
        var definition = PipelineDefinition(entity: .lead, name: "x", stages: [])
        let error = #expect(throws: PayloadError.self) { try SlaDefinitionPayload.read(try PayloadReader(payload), into: &definition) }
        #expect(error?.field == field)
    }
}
