import CrmCore
import Testing

/// BUS-CRM-0051, FUN-CRM-0285, USE-CRM-0559: stale records escalate through levels after configured times.
@Suite("Escalation levels")
struct EscalationTests {
    static let levels = [
        EscalationLevel(after: "PT24H", action: .notify, to: "owner"),
        EscalationLevel(after: "PT48H", action: .reassign, to: "manager"),
        EscalationLevel(after: "PT72H", condition: "data.score > 50", action: .reassign, to: "director"),
    ]

    var definition: PipelineDefinition {
        var definition = Pipelines.lead
        definition.fields = [FieldRule(name: "score", type: .number)]
        definition.escalation = Self.levels
        return definition
    }

    func record(stage: String = "new", score: Int64) -> PipelineRecord {
        PipelineRecord(id: "L-1", stage: stage, definitionVersion: 1, data: ["score": .integer(score)], version: 1)
    }

    @Test("the levels are planned in order from the last activity, each naming who it came from")
    func plan() {
        let planned = Escalations.plan(definition: definition, record: record(score: 80), lastActivity: 1_000)
        #expect(planned.map(\.level) == [1, 2, 3])
        let day: Int64 = 86_400_000
        let expected: [Int64] = [1_000 + day, 1_000 + 2 * day, 1_000 + 3 * day]
        #expect(planned.map(\.dueAt) == expected)
        #expect(planned.map(\.from) == ["owner", "owner", "manager"])
        #expect(planned.map(\.rule.to) == ["owner", "manager", "director"])
    }

    @Test("a level whose condition does not hold is left out; a record in a terminal stage does not escalate")
    func conditionsAndTerminal() {
        #expect(Escalations.plan(definition: definition, record: record(score: 10), lastActivity: 0).map(\.level) == [1, 2])
        #expect(Escalations.plan(definition: definition, record: record(stage: "won", score: 80), lastActivity: 0).isEmpty)
    }

    @Test("bad levels are reported with their paths; definitions without escalation stay valid")
    func problems() {
        #expect(Pipelines.problems(definition).isEmpty)
        var bad = definition
        bad.escalation = [
            EscalationLevel(after: "PT48H", action: .notify, to: "owner"),
            EscalationLevel(after: "PT24H", condition: "data.nope > 1", action: .reassign, to: "Head Office"),
            EscalationLevel(after: "soon", action: .notify, to: "owner"),
        ]
        let paths = Set(Pipelines.problems(bad).map(\.path))
        #expect(paths == ["escalation[1].after", "escalation[1].condition", "escalation[1].to", "escalation[2].after"], "\(paths.sorted())")
    }
}
