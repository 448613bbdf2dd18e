import CrmCore

/// Pipelines shared by the CrmCore suites.
enum Pipelines {
    /// The lead pipeline of contracts/v1/examples/01-definition.publish.json:
    /// new → contacted → qualified → won, and lost from any open stage.
    static let lead = PipelineDefinition(
        entity: .lead, name: "Inbound leads",
        stages: [
            StageDefinition(name: "new", label: "New", initial: true),
            StageDefinition(name: "contacted", label: "Contacted"),
            StageDefinition(name: "qualified", label: "Qualified"),
            StageDefinition(name: "won", label: "Won", terminal: .won),
            StageDefinition(name: "lost", label: "Lost", terminal: .lost),
        ],
        transitions: [
            TransitionDefinition(action: "contact", from: ["new"], to: "contacted"),
            TransitionDefinition(action: "qualify", from: ["new", "contacted"], to: "qualified"),
            TransitionDefinition(action: "close_won", from: ["qualified"], to: "won"),
            TransitionDefinition(action: "close_lost", from: ["new", "contacted", "qualified"], to: "lost"),
        ])

    static let opportunity = PipelineDefinition(
        entity: .opportunity, name: "Deals",
        stages: [StageDefinition(name: "open", initial: true), StageDefinition(name: "won", terminal: .won)],
        transitions: [TransitionDefinition(action: "win", from: ["open"], to: "won")])

    /// The problems `compile` reports, or [] when it compiles.
    static func problems(_ definition: PipelineDefinition) -> [DefinitionProblem] {
        do {
            _ = try CompiledDefinition.compile(definition, version: 1)
            return []
        } catch {
            return error.problems
        }
    }
}
