import ArgumentParser
import SlaTimerService
import ServiceKit

@main
struct SlaTimerServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sla-timer-service",
        abstract: "Nexus CRM sla-timer-service: see services/sla-timer-service/README.md for its streams and scaling."
    )

    @OptionGroup var options: ServiceOptions
    @OptionGroup var timers: SlaTimerOptions

    func run() async throws {
        // The handler wakes the firing loop of its own process when it schedules a timer.
        let wakeup = TimerWakeup()
        try await ServiceRunner.run(name: "sla-timer-service", options: options) { context in
            SlaTimerHandler(context: context, settings: timers.settings, wakeup: wakeup)
        } extraServices: { context in
            [TimerFirer(context: context, settings: timers.settings, wakeup: wakeup)]
        }
    }
}
