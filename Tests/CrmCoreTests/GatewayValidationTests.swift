import CrmCore
import Testing

@Suite("gateway definitions: every flaw refused at publish with its path")
struct GatewayValidationTests {
    static let stages = [StageDefinition(name: "new", initial: true), StageDefinition(name: "campaign"), StageDefinition(name: "done"),
                         StageDefinition(name: "won", terminal: .won)]
    static let transitions = [TransitionDefinition(action: "start", from: ["new"], to: "campaign"), TransitionDefinition(action: "win", from: ["done"], to: "won")]

    func problems(_ gateways: [GatewayDefinition], stages: [StageDefinition] = stages, transitions: [TransitionDefinition] = transitions) -> [String] {
        let definition = PipelineDefinition(entity: .lead, name: "g", stages: stages, transitions: transitions,
                                            fields: [FieldRule(name: "score", type: .number)], gateways: gateways)
        do {
            _ = try CompiledDefinition.compile(definition, version: 1)
            return []
        } catch {
            return error.problems.map { "\($0.path): \($0.message)" }
        }
    }

    func gateway(kind: GatewayDefinition.Kind = .parallel, stage: String = "campaign", join: String = "done", branches: [BranchDefinition]) -> GatewayDefinition {
        GatewayDefinition(name: "g", stage: stage, kind: kind, join: join, branches: branches)
    }

    static let manual = [StepDefinition(name: "s")]

    // FUN-CRM-0226, FUN-CRM-0275: gateway validation at publish.
    @Test("a sound gateway compiles; the join makes its stage reachable")
    func sound() {
        #expect(problems([gateway(branches: [BranchDefinition(name: "a", steps: Self.manual), BranchDefinition(name: "b", steps: Self.manual)])]).isEmpty)
    }

    @Test("each flaw is named with its path")
    func flaws() {
        let cases: [([GatewayDefinition], String)] = [
            ([gateway(stage: "nowhere", branches: [BranchDefinition(name: "a", steps: Self.manual)])], "gateways[0].stage: unknown stage 'nowhere'"),
            ([gateway(join: "nowhere", branches: [BranchDefinition(name: "a", steps: Self.manual)])], "gateways[0].join: unknown stage 'nowhere': the fork has no join"),
            ([gateway(join: "campaign", branches: [BranchDefinition(name: "a", steps: Self.manual)])], "gateways[0].join: the join must be another stage"),
            ([gateway(branches: [])], "gateways[0].branches: a gateway forks at least one branch"),
            ([gateway(branches: [BranchDefinition(name: "a", steps: Self.manual), BranchDefinition(name: "a", steps: Self.manual)])], "duplicate branch 'a'"),
            ([gateway(branches: [BranchDefinition(name: "a", steps: [])])], "gateways[0].branches[0].steps: a branch has at least one step"),
            ([gateway(branches: [BranchDefinition(name: "a", steps: [StepDefinition(name: "call", integration: "webhook")])])],
             "gateways[0].branches[0].steps[0].compensate: step 'call' calls 'webhook' (a side effect) and declares no compensation"),
            ([gateway(branches: [BranchDefinition(name: "a", when: "data.score > 1", steps: Self.manual)])], "gateways[0].branches[0].when: parallel branches all start"),
            ([gateway(kind: .inclusive, branches: [BranchDefinition(name: "a", when: "data.score > 1", steps: Self.manual)])],
             "gateways[0].branches: an inclusive gateway needs exactly one default branch"),
            ([gateway(kind: .inclusive, branches: [BranchDefinition(name: "a", steps: Self.manual), BranchDefinition(name: "d", isDefault: true, steps: Self.manual)])],
             "gateways[0].branches[0].when: an inclusive branch has a condition"),
            ([gateway(kind: .inclusive, branches: [BranchDefinition(name: "a", when: "data.score >", steps: Self.manual), BranchDefinition(name: "d", isDefault: true, steps: Self.manual)])],
             "gateways[0].branches[0].when: column"),
            ([gateway(branches: [BranchDefinition(name: "a", steps: Self.manual)]), gateway(branches: [BranchDefinition(name: "b", steps: Self.manual)])],
             "gateways[1].stage: stage 'campaign' already forks another gateway"),
        ]
        for (gateways, expected) in cases {
            let found = problems(gateways)
            #expect(found.contains { $0.hasPrefix(expected) || $0.contains(expected) }, "expected \(expected), got \(found)")
        }
    }

    @Test("a cycle with no way out to a terminal stage is refused")
    func cycleWithoutExit() {
        let stages = Self.stages + [StageDefinition(name: "loop_a"), StageDefinition(name: "loop_b")]
        let transitions = Self.transitions + [TransitionDefinition(action: "spin", from: ["new"], to: "loop_a"),
                                              TransitionDefinition(action: "spin", from: ["loop_a"], to: "loop_b"),
                                              TransitionDefinition(action: "back", from: ["loop_b"], to: "loop_a")]
        let found = problems([gateway(branches: [BranchDefinition(name: "a", steps: Self.manual)])], stages: stages, transitions: transitions)
        #expect(found.contains("stages: stage 'loop_a' is in a cycle with no way out to a terminal stage"), "\(found)")
        let escapable = transitions + [TransitionDefinition(action: "exit", from: ["loop_b"], to: "done")]
        #expect(problems([gateway(branches: [BranchDefinition(name: "a", steps: Self.manual)])], stages: stages, transitions: escapable).isEmpty)
    }

    @Test("an automatic transition cannot wait for an approval")
    func automaticApproval() {
        let transitions = Self.transitions + [TransitionDefinition(action: "route", from: ["new"], to: "done", requiresApproval: true, automatic: true)]
        #expect(problems([], transitions: transitions).contains { $0.contains("an automatic transition cannot wait for an approval") })
    }
}
