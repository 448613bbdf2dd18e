/// Definitions of a chosen size for measuring compile time (`crmctl bench-compile`, `crm-microbench`).
public enum SizedDefinition {
    /// A chain of stages, each reached by a conditional transition and left by a guarded one, over 20 fields.
    public static func chain(stages count: Int) -> PipelineDefinition {
        let fields = (0..<20).map { FieldRule(name: "f\($0)", type: $0 % 2 == 0 ? .number : .string) }
        var stages = [StageDefinition(name: "s0", initial: true)]
        var transitions: [TransitionDefinition] = []
        for index in 1..<max(2, count) {
            stages.append(StageDefinition(name: "s\(index)", terminal: index == count - 1 ? .won : nil))
            transitions.append(TransitionDefinition(action: "advance", from: ["s\(index - 1)"], to: "s\(index)",
                                                    condition: "data.f\((index * 2) % 20) > \(index) and len(data.f1) < 50"))
            transitions.append(TransitionDefinition(action: "jump", from: ["s\(index - 1)"], to: "s\(index)",
                                                    guard: "stage == 's\(index - 1)' or data.f0 in [1, 2, 3]"))
        }
        return PipelineDefinition(entity: .lead, name: "bench", stages: stages, transitions: transitions, fields: fields)
    }
}
