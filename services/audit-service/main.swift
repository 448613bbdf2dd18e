import ArgumentParser
import AuditService
import ServiceKit

@main
struct AuditServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit-service",
        abstract: "Nexus CRM audit-service: see services/audit-service/README.md for its streams and scaling."
    )

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        try await ServiceRunner.run(name: "audit-service", options: options) { context in AuditHandler(context: context) }
    }
}
