import CrmCore
import Foundation
import Testing

/// FUN-CRM-0275 (database-driven definitions, JSON) and FUN-CRM-0276 (lead/opportunity stages):
/// a published definition is compiled, and every inconsistency is refused with its path.
@Suite("CompiledDefinition.compile")
struct CompiledDefinitionTests {
    typealias Stage = StageDefinition
    typealias Move = TransitionDefinition

    static func definition(_ stages: [Stage], _ transitions: [Move] = []) -> PipelineDefinition {
        PipelineDefinition(entity: .lead, name: "Test", stages: stages, transitions: transitions)
    }

    @Test("FUN-CRM-0276: a valid lead pipeline compiles with its initial stage and stages in order")
    func validLeadPipeline() throws {
        let compiled = try CompiledDefinition.compile(Pipelines.lead, version: 3)
        #expect(compiled.initialStage == "new")
        #expect(compiled.stageNames == ["new", "contacted", "qualified", "won", "lost"])
        #expect(compiled.version == 3)
        #expect(compiled.source == Pipelines.lead)
        #expect(Pipelines.problems(Pipelines.lead).isEmpty)
    }

    @Test("FUN-CRM-0276: an opportunity pipeline compiles too, and the initial stage need not come first")
    func opportunityPipeline() throws {
        let compiled = try CompiledDefinition.compile(Pipelines.opportunity, version: 1)
        #expect(compiled.initialStage == "open")
        #expect(compiled.source.entity == .opportunity)
        let reordered = Self.definition([Stage(name: "done", terminal: .won), Stage(name: "start", initial: true)],
                                        [Move(action: "finish", from: ["start"], to: "done")])
        #expect(try CompiledDefinition.compile(reordered, version: 2).initialStage == "start")
    }

    @Test("FUN-CRM-0275: a definition survives its JSON storage form and compiles the same")
    func jsonRoundTrip() throws {
        let data = try JSONEncoder().encode(Pipelines.lead)
        let decoded = try JSONDecoder().decode(PipelineDefinition.self, from: data)
        #expect(decoded == Pipelines.lead)
        #expect(try CompiledDefinition.compile(decoded, version: 4) == CompiledDefinition.compile(Pipelines.lead, version: 4))
    }

    // MARK: one rule at a time: exactly one problem, at the right path

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let definition: PipelineDefinition
        let path: String
        let says: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "no stages", definition: definition([]), path: "stages", says: "at least one stage"),
        Case(name: "duplicate stage",
             definition: definition([Stage(name: "new", initial: true), Stage(name: "a"), Stage(name: "a")],
                                    [Move(action: "go", from: ["new"], to: "a")]),
             path: "stages[2].name", says: "duplicate stage 'a'"),
        Case(name: "stage name with upper case",
             definition: definition([Stage(name: "new", initial: true), Stage(name: "Qualified")],
                                    [Move(action: "go", from: ["new"], to: "Qualified")]),
             path: "stages[1].name", says: "'Qualified' must be lower-case"),
        Case(name: "stage name starting with a digit",
             definition: definition([Stage(name: "1st", initial: true)]),
             path: "stages[0].name", says: "'1st'"),
        Case(name: "stage name with a dash",
             definition: definition([Stage(name: "new", initial: true), Stage(name: "in-progress")],
                                    [Move(action: "go", from: ["new"], to: "in-progress")]),
             path: "stages[1].name", says: "'in-progress'"),
        Case(name: "zero initial stages",
             definition: definition([Stage(name: "a"), Stage(name: "b")], [Move(action: "go", from: ["a"], to: "b")]),
             path: "stages", says: "exactly one stage must be initial; none is"),
        Case(name: "two initial stages",
             definition: definition([Stage(name: "a", initial: true), Stage(name: "b", initial: true)],
                                    [Move(action: "go", from: ["a"], to: "b")]),
             path: "stages", says: "exactly one stage must be initial; a, b are"),
        Case(name: "a stage both initial and terminal",
             definition: definition([Stage(name: "only", initial: true, terminal: .won)]),
             path: "stages[0]", says: "cannot be both initial and terminal"),
        Case(name: "transition to an unknown stage",
             definition: definition([Stage(name: "new", initial: true)], [Move(action: "go", from: ["new"], to: "ghost")]),
             path: "transitions[0].to", says: "unknown stage 'ghost'"),
        Case(name: "transition from an unknown stage",
             definition: definition([Stage(name: "new", initial: true), Stage(name: "b")],
                                    [Move(action: "go", from: ["new"], to: "b"), Move(action: "back", from: ["ghost"], to: "new")]),
             path: "transitions[1].from", says: "unknown stage 'ghost'"),
        Case(name: "transition from a terminal stage",
             definition: definition([Stage(name: "new", initial: true), Stage(name: "won", terminal: .won)],
                                    [Move(action: "win", from: ["new"], to: "won"), Move(action: "undo", from: ["won"], to: "new")]),
             path: "transitions[1].from", says: "stage 'won' is terminal"),
        Case(name: "the same action twice from one stage",
             definition: definition([Stage(name: "new", initial: true), Stage(name: "a"), Stage(name: "b")],
                                    [Move(action: "go", from: ["new"], to: "a"), Move(action: "go", from: ["a", "new"], to: "b")]),
             path: "transitions[1]", says: "action 'go' from stage 'new' already has a transition without a condition"),
        Case(name: "a transition from no stage",
             definition: definition([Stage(name: "new", initial: true)], [Move(action: "go", from: [], to: "new")]),
             path: "transitions[0].from", says: "at least one stage"),
        Case(name: "a bad action name",
             definition: definition([Stage(name: "new", initial: true), Stage(name: "a")], [Move(action: "Go!", from: ["new"], to: "a")]),
             path: "transitions[0].action", says: "'Go!'"),
        Case(name: "an unreachable stage",
             definition: definition([Stage(name: "new", initial: true), Stage(name: "a"), Stage(name: "orphan")],
                                    [Move(action: "go", from: ["new"], to: "a"), Move(action: "leave", from: ["orphan"], to: "a")]),
             path: "stages", says: "stage 'orphan' cannot be reached from the initial stage 'new'"),
    ]

    @Test("FUN-CRM-0275: each rule refuses with one problem naming the path", arguments: cases)
    func refuses(_ input: Case) {
        let problems = Pipelines.problems(input.definition)
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.path == input.path)
        #expect(problems.first?.message.contains(input.says) == true, "message: \(problems.first?.message ?? "none")")
    }

    @Test("the same action from different stages, or different actions to one stage, are fine")
    func sharedActionsAreFine() {
        let definition = Self.definition(
            [Stage(name: "new", initial: true), Stage(name: "a"), Stage(name: "lost", terminal: .lost)],
            [Move(action: "go", from: ["new"], to: "a"), Move(action: "drop", from: ["new", "a"], to: "lost"),
             Move(action: "abandon", from: ["a"], to: "lost")])
        #expect(Pipelines.problems(definition).isEmpty)
    }

    @Test("a stage reached only through a chain of transitions is reachable")
    func reachabilityFollowsChains() throws {
        let stages = (0..<10).map { Stage(name: "s\($0)", initial: $0 == 0) }
        let moves = (0..<9).reversed().map { Move(action: "next", from: ["s\($0)"], to: "s\($0 + 1)") }
        #expect(try CompiledDefinition.compile(Self.definition(stages, moves), version: 1).stageNames.count == 10)
        // Break the chain in the middle: the five stages after the break are unreachable.
        let broken = moves.filter { $0.from != ["s4"] }
        let problems = Pipelines.problems(Self.definition(stages, broken))
        #expect(problems.map(\.message) == (5..<10).map { "stage 's\($0)' cannot be reached from the initial stage 's0'" })
    }

    @Test("FUN-CRM-0275: a definition with several problems reports all of them at once")
    func allProblemsAtOnce() {
        let definition = Self.definition(
            [Stage(name: "a", initial: true), Stage(name: "b", initial: true), Stage(name: "Bad"), Stage(name: "a")],
            [Move(action: "Go", from: ["a"], to: "ghost"), Move(action: "x", from: ["nowhere"], to: "b")])
        let problems = Pipelines.problems(definition)
        #expect(problems.count == 6)
        #expect(problems.map(\.path) == [
            "stages[2].name",         // 'Bad' is not a name
            "stages[3].name",         // duplicate 'a'
            "stages",                 // two initial stages
            "transitions[0].action",  // 'Go' is not a name
            "transitions[0].to",      // unknown 'ghost'
            "transitions[1].from",    // unknown 'nowhere'
        ])
        #expect(problems[2].message == "exactly one stage must be initial; a, b are")
    }

    @Test("a second set of problems, with reachability: terminal exit, duplicate move, unreachable stage")
    func problemsWithReachability() {
        let definition = Self.definition(
            [Stage(name: "new", initial: true), Stage(name: "won", terminal: .won), Stage(name: "island"), Stage(name: "x_y", initial: false, terminal: .lost)],
            [Move(action: "win", from: ["new"], to: "won"), Move(action: "win", from: ["new"], to: "x_y"),
             Move(action: "undo", from: ["won"], to: "new")])
        let problems = Pipelines.problems(definition)
        #expect(problems.map(\.path) == ["transitions[1]", "transitions[2].from", "stages"])
        #expect(problems.last?.message == "stage 'island' cannot be reached from the initial stage 'new'")
    }

    @Test("DefinitionErrors lists every problem in its description")
    func errorDescription() throws {
        let error = #expect(throws: DefinitionErrors.self) {
            try CompiledDefinition.compile(Self.definition([Stage(name: "a"), Stage(name: "B")]), version: 1)
        }
        let errors = try #require(error)
        #expect(errors.problems.count == 2)
        #expect(errors.description == "stages[1].name: 'B' must be lower-case letters, digits and '_', starting with a letter; "
            + "stages: exactly one stage must be initial; none is")
    }
}
