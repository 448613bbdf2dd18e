import ArgumentParser
import AssignmentService
import ServiceKit

@main
struct AssignmentServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assignment-service",
        abstract: "Nexus CRM assignment-service: see services/assignment-service/README.md for its streams and scaling."
    )

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceRunner.run(name: "assignment-service", options: options) { context in AssignmentHandler(context: context) }
    }
}
