/// Which arguments of a command are keys, so a cluster client knows the slot a command belongs to.
/// Covers the commands this project sends; any other command is taken to have its key first, the
/// rule for most of Redis' single-key commands.
enum CommandKeys {
    /// Commands without keys: sent to any primary.
    private static let keyless: Set<String> = [
        "PING", "ECHO", "INFO", "TIME", "SCRIPT", "CLIENT", "CLUSTER", "CONFIG", "DBSIZE", "FLUSHALL", "FLUSHDB",
        "ACL", "AUTH", "SELECT", "HELLO", "COMMAND", "MULTI", "EXEC", "DISCARD", "WAIT", "READONLY", "READWRITE",
        "ASKING", "SCAN", "KEYS", "RANDOMKEY", "FUNCTION", "LASTSAVE", "SAVE", "BGSAVE", "BGREWRITEAOF", "ROLE", "MONITOR",
        "SLOWLOG", "LATENCY", "DEBUG", "QUIT", "RESET", "PUBLISH", "SUBSCRIBE",
    ]
    /// Commands whose every argument is a key.
    private static let allKeys: Set<String> = ["DEL", "UNLINK", "EXISTS", "TOUCH", "MGET", "WATCH", "SINTER", "SUNION", "SDIFF", "PFCOUNT"]
    /// Blocking pops: every argument but the trailing timeout is a key.
    private static let keysThenTimeout: Set<String> = ["BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX"]
    /// Commands with a subcommand first and the key second.
    private static let subcommandThenKey: Set<String> = ["XGROUP", "XINFO", "OBJECT", "MEMORY"]

    /// The key arguments of `command` (empty for a keyless command).
    static func keys(of command: RedisCommand) -> [[UInt8]] {
        let argv = command.arguments
        let name = command.name
        let rest = argv.dropFirst()
        if keyless.contains(name) { return [] }
        if allKeys.contains(name) { return Array(rest) }
        if keysThenTimeout.contains(name) { return Array(rest.dropLast()) }
        if subcommandThenKey.contains(name) { return argv.count > 2 ? [argv[2]] : [] }
        switch name {
        case "MSET", "MSETNX":
            return stride(from: 1, to: argv.count, by: 2).map { argv[$0] }
        case "EVAL", "EVALSHA", "EVAL_RO", "EVALSHA_RO", "FCALL", "FCALL_RO":
            guard argv.count > 2, let count = Int(String(decoding: argv[2], as: UTF8.self)), count > 0 else { return [] }
            return Array(argv.dropFirst(3).prefix(count))
        case "XREAD", "XREADGROUP":
            guard let streams = argv.firstIndex(where: { String(decoding: $0, as: UTF8.self).uppercased() == "STREAMS" }) else { return [] }
            let names = argv[(streams + 1)...]
            return Array(names.prefix(names.count / 2))
        case "RPOPLPUSH", "LMOVE", "BLMOVE", "SMOVE", "RENAME", "RENAMENX", "COPY":
            return Array(rest.prefix(2))
        default:
            return rest.first.map { [$0] } ?? []
        }
    }
}
