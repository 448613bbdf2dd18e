import Contracts
import Foundation
import IntegrationService
import TestSupport
import Testing

/// Plugins written for the tests, installed in a plugin directory of their own. Each answers the
/// registration's `describe` request properly and (mis)behaves on a call.
struct PluginDirectory {
    let path: URL

    static let header = """
    #!/usr/bin/python3
    import json, os, sys
    request = json.loads(sys.stdin.read())
    if request["operation"] == "describe":
        print(json.dumps({"ok": True}))
        sys.exit(0)

    """

    static let plugins: [String: String] = [
        "inspector": """
        print(json.dumps({"ok": True, "output": {
            "operation": request["operation"], "tenant": request["tenant"], "key": request["idempotencyKey"], "input": request["input"],
            "environment": sorted(os.environ.keys()), "cwd": os.getcwd(), "files": os.listdir("."),
            "descriptors": sorted(int(fd) for fd in os.listdir("/proc/self/fd")), "uid": os.getuid()}}))
        """,
        "looping": "while True:\n    pass\n",
        "memory-bomb": "hoard = []\nwhile True:\n    hoard.append(bytearray(16 << 20))\n",
        "fork-bomb": "while True:\n    os.fork()\n",
        "garbage": "print('this is not json')\n",
        "crashing": "import signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
        "flooding": "sys.stdout.write('x' * (8 << 20))\n",
        "refusing": "print(json.dumps({'ok': False, 'error': 'no such campaign', 'retryable': False}))\n",
    ]

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("crm-plugins-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        for (name, body) in Self.plugins {
            let file = path.appendingPathComponent(name)
            try Self.install(Self.header + body, at: file, permissions: 0o755)
        }
        let unsafe = path.appendingPathComponent("writable")
        try Self.install(Self.header + Self.plugins["inspector"]!, at: unsafe, permissions: 0o777)
    }

    /// Writes through a close-on-exec descriptor: a redis-server or service that another test spawns
    /// meanwhile must not inherit it, or executing the plugin fails with ETXTBSY for as long as that
    /// process lives (the sandbox then exits 127).
    static func install(_ text: String, at file: URL, permissions: mode_t) throws {
        let descriptor = open(file.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, permissions)
        guard descriptor >= 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file.path]) }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        guard write(descriptor, bytes, bytes.count) == bytes.count, fchmod(descriptor, permissions) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file.path])
        }
    }
}

@Suite("integration-service plugins: sandboxed executables that fail cleanly", .serialized)
struct IntegrationPluginTests {
    func harness(_ plugins: PluginDirectory) async throws -> IntegrationHarness {
        var harness = try await IntegrationHarness(maxAttempts: 1)
        harness.settings.pluginDirectory = plugins.path.path
        return harness
    }

    // FUN-CRM-0220, FUN-CRM-0284, SEC-CRM-0449, SEC-CRM-0455: a registered plugin gets its call's data only, in a sandbox.
    @Test("a plugin is validated when registered and runs with an empty environment, its own directory, no inherited descriptors, the call's data only")
    func wellBehavedPlugin() async throws {
        let plugins = try PluginDirectory()
        let harness = try await harness(plugins)
        try await harness.running {
            let registered = try await harness.publish(MessageType.integrationConfigure, ["integration": "scorer", "kind": "plugin", "plugin": "inspector"])
            #expect(registered.type == MessageType.commandAccepted, "\(registered.json)")
            for (name, expected) in [("missing", "no plugin"), ("writable", "changed by others")] {
                let refused = try await harness.publish(MessageType.integrationConfigure, ["integration": "bad", "kind": "plugin", "plugin": .string(name)])
                #expect(refused.payload["code"] == "invalid_payload")
                #expect(refused.payload["field"] == "payload.plugin")
                #expect(refused.payload["message"]?.stringValue?.contains(expected) == true, "\(refused.json)")
            }
            _ = try await harness.publish(MessageType.integrationInvoke, ["callId": "P-1", "integration": "scorer", "input": ["leadId": "L-1001"], "sagaId": "S-1", "step": 3])
            #expect(try await eventually { try await harness.events(MessageType.integrationSucceeded).count == 1 })
            let output = try #require(try await harness.events(MessageType.integrationSucceeded).first?.payload["output"])
            #expect(output["tenant"] == "acme")
            #expect(output["key"] == "S-1:3")
            #expect(output["input"] == ["leadId": "L-1001"])
            // An empty environment: the only variable is the one Python's C-locale coercion sets for itself.
            #expect(output["environment"] == [] || output["environment"] == ["LC_CTYPE"], "\(output)")
            #expect(output["files"] == [], "a fresh working directory")
            #expect(output["cwd"]?.stringValue?.contains("crm-plugin-") == true)
            #expect(output["descriptors"]?.arrayValue?.count ?? 99 <= 4, "stdin, stdout, stderr and the listing's own: \(output)")
            if geteuid() == 0 { #expect(output["uid"] == 65534, "root drops to an unprivileged user") }
        }
    }

    @Test("misbehaving plugins (infinite loop, memory bomb, fork bomb, garbage, crash, flood, refusal) each fail their call cleanly within the timeout; the service keeps serving")
    func misbehavingPlugins() async throws {
        let plugins = try PluginDirectory()
        let harness = try await harness(plugins)
        let cases: [(plugin: String, reason: String)] = [
            ("looping", "3000 ms|CPU"), ("memory-bomb", "status 1|signal"), ("fork-bomb", "status|signal|3000 ms"), ("garbage", "not a JSON reply"),
            ("crashing", "signal 11"), ("flooding", "more than"), ("refusing", "no such campaign"),
        ]
        try await harness.running {
            for (plugin, _) in cases {
                // A small address space, so the memory bomb meets its limit long before its deadline.
                let outcome = try await harness.publish(MessageType.integrationConfigure, ["integration": .string(plugin), "kind": "plugin", "plugin": .string(plugin),
                                                                                         "timeoutMs": 3000, "memoryMb": 64])
                #expect(outcome.type == MessageType.commandAccepted, "\(outcome.json)")
            }
            _ = try await harness.publish(MessageType.integrationConfigure, ["integration": "inspector", "kind": "plugin", "plugin": "inspector"])
            let started = Date()
            for (plugin, _) in cases {
                _ = try await harness.publish(MessageType.integrationInvoke, ["callId": .string("M-\(plugin)"), "integration": .string(plugin), "input": [:]])
            }
            #expect(try await eventually(timeout: .seconds(15)) { try await harness.events(MessageType.integrationFailed).count == cases.count })
            #expect(Date().timeIntervalSince(started) < 12, "each within its timeout (they run side by side)")
            let failed = try await harness.events(MessageType.integrationFailed)
            for (plugin, reason) in cases {
                let event = failed.first { $0.payload["callId"] == .string("M-\(plugin)") }
                let text = event?.payload["reason"]?.stringValue ?? ""
                #expect(reason.split(separator: "|").contains { text.contains($0) }, "\(plugin): \(text)")
            }
            // Still serving: the next call to a good plugin succeeds.
            _ = try await harness.publish(MessageType.integrationInvoke, ["callId": "after", "integration": "inspector", "input": ["ok": true]])
            #expect(try await eventually { try await harness.events(MessageType.integrationSucceeded).contains { $0.payload["callId"] == "after" } })
        }
        // Nothing of the plugins is left running.
        let leftovers = try await ServiceProcess.runTool("/usr/bin/pgrep", arguments: ["-u", "65534", "-f", plugins.path.path])
        #expect(leftovers.output.isEmpty, "\(leftovers.output)")
    }
}
