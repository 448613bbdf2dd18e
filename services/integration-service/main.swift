import ArgumentParser
import IntegrationService
import ServiceKit

@main
struct IntegrationServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "integration-service",
        abstract: "Nexus CRM integration-service: see services/integration-service/README.md for its streams, settings and scaling."
    )

    @OptionGroup var options: ServiceOptions
    @OptionGroup var settings: IntegrationSettings

    func run() async throws {
        let settings = self.settings
        try await ServiceRunner.run(name: "integration-service", options: options,
                                    makeHandler: { context in IntegrationHandler(context: context, settings: settings) },
                                    extraServices: { context in
                                        [CallRunner(pool: context.pool, router: context.router, settings: settings, logger: context.logger,
                                                    finishedTTLSeconds: context.options.idempotencyTTLSeconds)]
                                    })
    }
}
