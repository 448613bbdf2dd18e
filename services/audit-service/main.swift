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
    @OptionGroup var audit: AuditOptions

    func run() async throws {
        try await ServiceRunner.run(name: "audit-service", options: options) { context in try AuditHandler(context: context, options: audit) }
    }
}
