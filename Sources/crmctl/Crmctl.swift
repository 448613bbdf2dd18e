import ArgumentParser

@main
struct Crmctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crmctl",
        abstract: "Operate Nexus CRM: publish commands, tail and verify the audit trail, inspect and replay the DLQ.",
        subcommands: [Publish.self, Define.self, Show.self, List.self, AttachmentCommand.self, Can.self, Audit.self, History.self, Status.self, Dlq.self,
                      Timers.self, Sla.self, Queue.self, Delegations.self, Approvals.self, APIKeys.self, Integrations.self,
                      Dashboard.self, Bench.self, BenchCompile.self, BenchGateway.self, BenchTimers.self, BenchDashboard.self]
    )
}
