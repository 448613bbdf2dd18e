import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a plugin run ended, with what it wrote on stdout.
public struct PluginRun: Sendable {
    public enum Ending: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
        case timedOut
        case outputTooLarge(Int)
        case couldNotStart(String)
    }

    public let ending: Ending
    public let output: [UInt8]
}

/// The limits a plugin runs under (SEC-CRM-0455).
public struct PluginLimits: Sendable, Equatable {
    public var timeoutMs: Int = 5000
    public var cpuSeconds: Int = 5
    public var memoryBytes: Int = 256 << 20
    /// Processes (and threads) of the plugin's user; with an unprivileged user of its own this stops fork bombs.
    public var processes: Int = 32
    public var fileSizeBytes: Int = 1 << 20
    public var openFiles: Int = 64
    public var maxOutputBytes: Int = 256 << 10

    public init() {}
}

/// Runs a plugin executable through `crm-plugin-sandbox`: its own process group, an empty
/// environment, a fresh working directory, no inherited descriptors, resource limits, an unprivileged
/// user when the service runs as root, a wall-clock deadline (the whole group is killed at it), and
/// capped output. The blocking work (poll, waitpid) runs on a thread of its own, never on Swift
/// concurrency's pool.
public struct PluginSandbox: Sendable {
    public let launcher: String
    public let workRoot: String
    /// Who plugins run as when the service runs as root (uid, gid).
    public let user: (uid: UInt32, gid: UInt32)

    public init(launcher: String, workRoot: String? = nil, user: (uid: UInt32, gid: UInt32) = (65534, 65534)) {
        self.launcher = launcher
        self.workRoot = workRoot ?? NSTemporaryDirectory()
        self.user = user
    }

    /// The launcher beside this process's executable (where `swift build` and an install put both).
    public static func defaultLauncher() -> String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("crm-plugin-sandbox").path
    }

    public func run(executable: String, request: [UInt8], limits: PluginLimits) async -> PluginRun {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: self.runBlocking(executable: executable, request: request, limits: limits)) }
            thread.name = "crm-plugin"
            thread.start()
        }
    }

    private func runBlocking(executable: String, request: [UInt8], limits: PluginLimits) -> PluginRun {
        let directory = (workRoot as NSString).appendingPathComponent("crm-plugin-\(UUID().uuidString.prefix(12))")
        guard mkdir(directory, 0o700) == 0 else { return PluginRun(ending: .couldNotStart("no working directory"), output: []) }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let asRoot = geteuid() == 0
        if asRoot { _ = chown(directory, user.uid, user.gid) }

        // Socket pairs rather than pipes: writes use MSG_NOSIGNAL, so a plugin that closes its
        // stdin early cannot raise SIGPIPE in the service.
        var input: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        let kind = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, kind, 0, &input) == 0 else { return PluginRun(ending: .couldNotStart("socketpair failed"), output: []) }
        guard socketpair(AF_UNIX, kind, 0, &output) == 0 else {
            close(input[0]); close(input[1])
            return PluginRun(ending: .couldNotStart("socketpair failed"), output: [])
        }
        defer { close(input[0]); close(output[0]) }

        var arguments = [launcher, "--cpu", String(limits.cpuSeconds), "--as", String(limits.memoryBytes), "--nproc", String(limits.processes),
                         "--fsize", String(limits.fileSizeBytes), "--nofile", String(limits.openFiles), "--dir", directory]
        if asRoot { arguments += ["--uid", String(user.uid), "--gid", String(user.gid)] }
        arguments += ["--", executable]
        let pid = spawn(arguments: arguments, stdin: input[1], stdout: output[1])
        close(input[1])
        close(output[1])
        guard let pid else { return PluginRun(ending: .couldNotStart("posix_spawn of \(launcher) failed"), output: []) }

        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(limits.timeoutMs) * 1_000_000
        var written = 0
        var collected: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        var ending: PluginRun.Ending?
        var stdinOpen = true
        exchange: while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { ending = .timedOut; break }
            var fds = [pollfd(fd: output[0], events: Int16(POLLIN), revents: 0)]
            if stdinOpen { fds.append(pollfd(fd: input[0], events: Int16(POLLOUT), revents: 0)) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min((deadline - now) / 1_000_000 + 1, 1000)))
            if ready < 0, errno != EINTR { ending = .couldNotStart("poll failed"); break }
            if stdinOpen, fds.count > 1, fds[1].revents != 0 {
                let sent = request.withUnsafeBytes { bytes in
                    send(input[0], bytes.baseAddress! + written, bytes.count - written, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
                }
                if sent > 0 { written += sent }
                if sent < 0, errno != EAGAIN, errno != EINTR { written = request.count }  // the plugin closed its stdin
                if written >= request.count {
                    shutdown(input[0], Int32(SHUT_WR))
                    stdinOpen = false
                }
            }
            if fds[0].revents != 0 {
                while true {
                    let count = recv(output[0], &buffer, buffer.count, Int32(MSG_DONTWAIT))
                    if count > 0 {
                        collected += buffer[0..<count]
                        if collected.count > limits.maxOutputBytes { ending = .outputTooLarge(limits.maxOutputBytes); break exchange }
                        continue
                    }
                    if count == 0 { break exchange }  // end of file: the plugin closed its stdout
                    if errno == EAGAIN || errno == EINTR { break }
                    break exchange
                }
            }
        }

        // Whatever happened, nothing of the plugin outlives its call: kill the whole group.
        var status: Int32 = 0
        if ending == nil {
            while waitpid(pid, &status, WNOHANG) == 0 {
                if DispatchTime.now().uptimeNanoseconds >= deadline { ending = .timedOut; break }
                usleep(2000)
            }
        }
        kill(-pid, SIGKILL)
        if ending != nil { _ = waitpid(pid, &status, 0) }
        if let ending { return PluginRun(ending: ending, output: collected) }
        let signal = status & 0x7F
        return PluginRun(ending: signal == 0 ? .exited((status >> 8) & 0xFF) : .signalled(signal), output: collected)
    }

    /// posix_spawn of the launcher in a new process group with an empty environment, default signal
    /// handling and the given descriptors as stdin and stdout (stderr to /dev/null).
    private func spawn(arguments: [String], stdin: Int32, stdout: Int32) -> pid_t? {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp) == 0 else { return nil }
        return pid
    }
}
