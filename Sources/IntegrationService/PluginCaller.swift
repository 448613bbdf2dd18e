import Contracts
import Foundation

/// Makes one plugin attempt (FUN-CRM-0220, FUN-CRM-0284): the deployment installs plugin executables
/// in its plugin directory, a tenant registers one by name (`integration.configure` with kind
/// `plugin`), and each call runs it in the sandbox with the call's own data only (SEC-CRM-0449, SEC-CRM-0455).
struct PluginCaller: Sendable {
    let directory: String
    let sandbox: PluginSandbox

    init(settings: IntegrationSettings) {
        directory = settings.pluginDirectory
        let launcher = settings.sandboxLauncher.isEmpty ? PluginSandbox.defaultLauncher() : settings.sandboxLauncher
        sandbox = PluginSandbox(launcher: launcher, user: settings.pluginUserIDs ?? (65534, 65534))
    }

    func call(_ call: CallDocument, config: IntegrationConfig, attempt: Int) async -> Result<JSONValue?, CallFailure> {
        guard let plugin = config.plugin else { return .failure(.permanent("the integration names no plugin")) }
        let limits = limits(for: config)
        let run = await sandbox.run(executable: path(of: plugin), request: PluginProtocol.request(call, attempt: attempt), limits: limits)
        return PluginProtocol.result(of: run, timeoutMs: limits.timeoutMs, cpuSeconds: limits.cpuSeconds)
    }

    /// Checks a plugin when it is registered: installed as a regular executable that only its owner
    /// may change, and answering the `describe` request with `{"ok": true}`. Returns why not, or nil.
    func validate(_ config: IntegrationConfig, tenant: String) async -> String? {
        guard let plugin = config.plugin else { return "no plugin named" }
        let file = path(of: plugin)
        var info = stat()
        guard stat(file, &info) == 0 else { return "no plugin '\(plugin)' is installed in \(directory)" }
        guard (info.st_mode & S_IFMT) == S_IFREG, access(file, X_OK) == 0 else { return "'\(plugin)' is not an executable file" }
        guard info.st_mode & (S_IWGRP | S_IWOTH) == 0 else { return "'\(plugin)' may be changed by others than its owner" }
        let limits = limits(for: config)
        let run = await sandbox.run(executable: file, request: PluginProtocol.describeRequest(tenant: tenant), limits: limits)
        if case .failure(let failure) = PluginProtocol.result(of: run, timeoutMs: limits.timeoutMs, cpuSeconds: limits.cpuSeconds) {
            return "'\(plugin)' does not answer the describe request: \(failure.reason)"
        }
        return nil
    }

    private func path(of plugin: String) -> String { (directory as NSString).appendingPathComponent(plugin) }

    private func limits(for config: IntegrationConfig) -> PluginLimits {
        var limits = PluginLimits()
        limits.timeoutMs = config.timeoutMs
        limits.cpuSeconds = max(1, (config.timeoutMs + 999) / 1000)
        if let memoryMb = config.memoryMb { limits.memoryBytes = memoryMb << 20 }
        return limits
    }
}
