public import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn, its signal mask cleared and dispositions reset.
/// Foundation's `Process` passes on the test runner's blocked signals, so a child would never see
/// SIGTERM; services under test must receive it exactly as in production.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Starts `path` with `arguments`; stdout and stderr go to `outputPath` (appended), stdin from `inputPath` or /dev/null.
    public init(path: String, arguments: [String], environment: [String: String], outputPath: String, inputPath: String? = nil) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inputPath ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let status = posix_spawn(&child, path, &actions, &attributes, argv, envp)
        guard status == 0 else { throw TestHarnessError.binaryMissing("\(path) (posix_spawn error \(status))") }
        pid = child
        ChildRegistry.started(child)
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            _ = waitBlocking()
        }
    }

    /// Whether the child is still running (reaps it when it has exited).
    public var isRunning: Bool { poll() == nil }

    /// The exit status (128 + signal for a signalled child), nil while running.
    public func poll() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        let signal = status & 0x7F
        exitStatus = signal == 0 ? (status >> 8) & 0xFF : 128 + signal
        ChildRegistry.ended(pid)
        return exitStatus
    }

    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits for exit without blocking the cooperative pool for long (short sleeps between polls).
    public func waitForExit(timeout: Duration) async -> Int32? {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if let status = poll() { return status }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return poll()
    }

    /// For deinit and synchronous teardown: polls until the child is gone.
    @discardableResult
    public func waitBlocking() -> Int32 {
        while true {
            if let status = poll() { return status }
            usleep(2_000)
        }
    }

    public static var environment: [String: String] { ProcessInfo.processInfo.environment }
}

/// Every child still running when the test process exits is killed: a test that ends early (a
/// thrown expectation, a suite torn down without deinit) must not leave a redis-server behind.
enum ChildRegistry {
    private static let running = Mutex<Set<pid_t>>([])
    private static let installed: Void = {
        atexit {
            for pid in ChildRegistry.running.withLock({ $0 }) { kill(pid, SIGKILL) }
        }
    }()

    static func started(_ pid: pid_t) {
        _ = installed
        running.withLock { _ = $0.insert(pid) }
    }

    static func ended(_ pid: pid_t) {
        running.withLock { _ = $0.remove(pid) }
    }
}
