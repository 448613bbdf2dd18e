#if canImport(Glibc)
import Glibc
#endif

// crm-plugin-sandbox: the last step before a plugin runs. integration-service spawns it (in a process
// group of its own, with an empty environment and the call's pipes as stdin and stdout); it enters
// the call's working directory, closes every other file descriptor, drops to an unprivileged user
// when started as root, sets the resource limits, and replaces itself with the plugin. Doing this in
// a process of its own keeps the service's threads away from fork: posix_spawn then exec only.
//
//   crm-plugin-sandbox --cpu S --as BYTES --nproc N --fsize BYTES --nofile N --dir PATH [--uid U --gid G] -- PLUGIN
//
// Exit 125 on bad arguments, 126 when a step fails, 127 when the plugin cannot be executed.

func fail(_ status: Int32, _ message: String) -> Never {
    _ = message.withCString { write(2, $0, strlen($0)) }
    exit(status)
}

var options: [String: String] = [:]
var arguments = Array(CommandLine.arguments.dropFirst())
while let first = arguments.first, first != "--" {
    guard first.hasPrefix("--"), arguments.count >= 2 else { fail(125, "crm-plugin-sandbox: bad argument \(first)\n") }
    options[String(first.dropFirst(2))] = arguments[1]
    arguments.removeFirst(2)
}
guard arguments.first == "--", arguments.count >= 2 else { fail(125, "crm-plugin-sandbox: no plugin after --\n") }
let plugin = Array(arguments.dropFirst())

func number(_ name: String, in options: [String: String]) -> UInt64 {
    guard let text = options[name], let value = UInt64(text) else { fail(125, "crm-plugin-sandbox: --\(name) needs a number\n") }
    return value
}

guard let directory = options["dir"], chdir(directory) == 0 else { fail(126, "crm-plugin-sandbox: cannot enter the working directory\n") }

// No descriptor of the service (Redis connections, other calls' pipes) reaches the plugin.
let highest = Int32(min(sysconf(Int32(_SC_OPEN_MAX)), 65_536))
if highest > 3 {
    for descriptor in 3..<highest { close(descriptor) }
}

if let uid = options["uid"].flatMap({ UInt32($0) }), let gid = options["gid"].flatMap({ UInt32($0) }) {
    guard setgroups(0, nil) == 0, setgid(gid) == 0, setuid(uid) == 0, getuid() == uid else {
        fail(126, "crm-plugin-sandbox: cannot drop privileges\n")
    }
}

func limit(_ resource: Int32, _ value: UInt64) {
    var bound = rlimit(rlim_cur: rlim_t(value), rlim_max: rlim_t(value))
    guard setrlimit(resource, &bound) == 0 else { fail(126, "crm-plugin-sandbox: setrlimit failed\n") }
}
limit(Int32(RLIMIT_CPU.rawValue), number("cpu", in: options))
limit(Int32(RLIMIT_AS.rawValue), number("as", in: options))
limit(Int32(__RLIMIT_NPROC.rawValue), number("nproc", in: options))
limit(Int32(RLIMIT_FSIZE.rawValue), number("fsize", in: options))
limit(Int32(RLIMIT_NOFILE.rawValue), number("nofile", in: options))
limit(Int32(RLIMIT_CORE.rawValue), 0)

let argv: [UnsafeMutablePointer<CChar>?] = plugin.map { strdup($0) } + [nil]
let environment: [UnsafeMutablePointer<CChar>?] = [nil]
// ETXTBSY: some process still holds the file open for writing (it is being installed, or a fork
// elsewhere inherited a writer's descriptor for a moment): wait briefly and try again.
for _ in 0..<100 {
    execve(plugin[0], argv, environment)
    guard errno == ETXTBSY else { break }
    usleep(20_000)
}
fail(127, "crm-plugin-sandbox: cannot execute the plugin\n")
