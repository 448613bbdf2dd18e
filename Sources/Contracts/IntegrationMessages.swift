/// The type names of integration-service's part of contracts/v1: a tenant's integrations, the calls
/// made to them and their results.
extension MessageType {
    public static let integrationConfigure = "integration.configure"
    public static let integrationConfigured = "integration.configured"
    public static let integrationInvoke = "integration.invoke"
    public static let integrationCompensate = "integration.compensate"
    public static let integrationSucceeded = "integration.succeeded"
    public static let integrationFailed = "integration.failed"
    public static let integrationCompensated = "integration.compensated"

    public static let integrationCommands = [integrationConfigure, integrationInvoke, integrationCompensate]
    public static let integrationEvents = [integrationConfigured, integrationSucceeded, integrationFailed, integrationCompensated]
}
