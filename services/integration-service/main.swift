import ArgumentParser
import IntegrationService
import ServiceKit

@main
struct IntegrationServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "integration-service",
        abstract: "Nexus CRM integration-service: see services/integration-service/README.md for its streams and scaling."
    )

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceRunner.run(name: "integration-service", options: options) { context in IntegrationHandler(context: context) }
    }
}
