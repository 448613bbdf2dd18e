import ArgumentParser
import AuditService
import CrmRedis
import Foundation
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
        try await ServiceRunner.run(name: "audit-service", options: options) { context in
            try AuditHandler(context: context, options: audit)
        } extraServices: { context in
            guard audit.maxLength > 0, let directory = audit.archiveDirectory else { return [] }
            return [AuditArchiver(archive: AuditArchive(directory: URL(fileURLWithPath: directory)), maxLength: audit.maxLength,
                                  interval: .milliseconds(audit.archiveEveryMilliseconds), context: context)]
        }
    }
}
