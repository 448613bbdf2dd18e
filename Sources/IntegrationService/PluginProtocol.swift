public import Contracts

/// The JSON a plugin speaks (documented in services/integration-service/README.md): one request
/// object on stdin (then end of file), one reply object on stdout, exit status 0.
///
/// Request: `{"protocol": 1, "operation": "invoke" | "compensate" | "describe", "tenant", "callId",
/// "idempotencyKey", "attempt", "input", "subject"?, "sagaId"?, "step"?}` — only the call's own data.
/// Reply: `{"ok": true, "output"?: {…}}` or `{"ok": false, "error": "…", "retryable"?: bool}`.
public enum PluginProtocol {
    public static let version = 1

    static func request(_ call: CallDocument, attempt: Int) -> [UInt8] {
        var fields: [String: JSONValue] = [
            "protocol": .integer(Int64(version)), "operation": .string(call.operation.rawValue), "tenant": .string(call.tenant),
            "callId": .string(call.callId), "idempotencyKey": .string(call.idempotencyKey), "attempt": .integer(Int64(attempt)),
            "input": call.input,
        ]
        if let subject = call.subject { fields["subject"] = .string(subject) }
        if let sagaId = call.sagaId { fields["sagaId"] = .string(sagaId) }
        if let step = call.step { fields["step"] = .integer(Int64(step)) }
        return JSONValue.object(fields).compactJSON
    }

    /// What a plugin is asked when it is registered: it must answer `{"ok": true}`.
    static func describeRequest(tenant: String) -> [UInt8] {
        JSONValue.object(["protocol": .integer(Int64(version)), "operation": "describe", "tenant": .string(tenant)]).compactJSON
    }

    /// Reads how a plugin run ended into the call's result.
    public static func result(of run: PluginRun, timeoutMs: Int, cpuSeconds: Int) -> Result<JSONValue?, CallFailure> {
        switch run.ending {
        case .timedOut:
            return .failure(.transient("the plugin gave no answer within \(timeoutMs) ms and was killed"))
        case .outputTooLarge(let limit):
            return .failure(.permanent("the plugin wrote more than \(limit) bytes"))
        case .couldNotStart(let reason):
            return .failure(.permanent("the plugin could not be started: \(reason)"))
        case .signalled(let signal):
            // SIGXCPU: the CPU limit; anything else (SIGSEGV, SIGABRT, SIGKILL by the kernel) a crash.
            if signal == 24 { return .failure(.permanent("the plugin used more than \(cpuSeconds) s of CPU")) }
            return .failure(.transient("the plugin crashed (signal \(signal))"))
        case .exited(let status):
            let reply = try? JSONValue.parse(run.output)
            if status == 126 || status == 127, reply == nil { return .failure(.permanent("the plugin could not be executed (status \(status))")) }
            guard let reply, case .object(let fields) = reply, case .bool(let ok)? = fields["ok"] else {
                if status != 0 { return .failure(.permanent("the plugin exited with status \(status) without a reply")) }
                return .failure(.permanent("the plugin's output is not a JSON reply object"))
            }
            if ok, status == 0 {
                if let output = fields["output"], case .object = output { return .success(output) }
                return .success(nil)
            }
            let error = fields["error"]?.stringValue ?? (ok ? "the plugin exited with status \(status)" : "the plugin reported a failure")
            let retryable: Bool
            if case .bool(let flag)? = fields["retryable"] { retryable = flag } else { retryable = false }
            return .failure(CallFailure("plugin: \(error)", retryable: retryable))
        }
    }
}
