import ArgumentParser
import PipelineService
import ServiceKit

@main
struct PipelineServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline-service",
        abstract: "Nexus CRM pipeline-service: see services/pipeline-service/README.md for its streams and scaling."
    )

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceRunner.run(name: "pipeline-service", options: options) { context in PipelineHandler(context: context) }
    }
}
