import CHiredis
import Foundation

/// The one owner of a `redisContext *`. Not thread-safe: its `RedisConnection` calls it from one
/// serial queue only. Any transport error leaves hiredis' context dead, so the context is freed at
/// once and the owner reconnects.
final class HiredisContext {
    private var context: UnsafeMutablePointer<redisContext>?
    let endpoint: RedisEndpoint

    private init(context: UnsafeMutablePointer<redisContext>, endpoint: RedisEndpoint) {
        self.context = context
        self.endpoint = endpoint
    }

    deinit { close() }

    /// hiredis writes with plain write(2): a peer that went away would raise SIGPIPE and kill the
    /// process. Ignoring it turns that into an EPIPE error, handled like any lost connection.
    private static let ignoreBrokenPipes: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()

    var isOpen: Bool { context != nil }

    /// Whether the server already closed this idle socket (killed, restarted, failed over): a
    /// command written now would surely not run, so the owner reconnects first. One non-blocking
    /// peek, no data consumed.
    var peerHasClosed: Bool {
        guard let context else { return true }
        var byte: UInt8 = 0
        let received = recv(context.pointee.fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        if received == 0 { return true }
        return received < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
    }

    func close() {
        if let context { redisFree(context) }
        context = nil
    }

    /// Connects and applies the socket timeout (which must exceed any `BLOCK` used on this connection).
    static func connect(to endpoint: RedisEndpoint, connectTimeout: Duration, socketTimeout: Duration) throws(RedisError) -> HiredisContext {
        _ = ignoreBrokenPipes
        let timeout = timeval(duration: connectTimeout)
        let raw: UnsafeMutablePointer<redisContext>?
        switch endpoint.address {
        case .tcp(let host, let port):
            raw = redisConnectWithTimeout(host, Int32(port), timeout)
        case .unixSocket(let path):
            raw = redisConnectUnixWithTimeout(path, timeout)
        }
        guard let raw else {
            throw .connectionFailed(endpoint: endpoint.description, reason: "out of memory allocating a context")
        }
        if chiredis_err(raw) != 0 {
            let reason = String(cString: chiredis_errstr(raw))
            redisFree(raw)
            throw .connectionFailed(endpoint: endpoint.description, reason: reason)
        }
        let socket = timeval(duration: socketTimeout)
        if redisSetTimeout(raw, socket) != REDIS_OK {
            redisFree(raw)
            throw .connectionFailed(endpoint: endpoint.description, reason: "cannot set the socket timeout")
        }
        return HiredisContext(context: raw, endpoint: endpoint)
    }

    /// Sends one command and reads its reply. An error reply is returned as `.error`, not thrown.
    func execute(_ command: RedisCommand) throws(RedisError) -> RedisValue {
        guard let context else { throw .closed }
        let raw = withArgv(command.arguments) { argc, argv, lengths in
            redisCommandArgv(context, argc, argv, lengths)
        }
        guard let raw else { throw transportError(command: command.name) }
        return Self.consume(raw)
    }

    /// Appends every command to the output buffer, then reads the replies in order (one round trip
    /// per socket buffer rather than per command).
    func executePipeline(_ commands: [RedisCommand]) throws(RedisError) -> [RedisValue] {
        guard let context else { throw .closed }
        for command in commands {
            let status = withArgv(command.arguments) { argc, argv, lengths in
                redisAppendCommandArgv(context, argc, argv, lengths)
            }
            guard status == REDIS_OK else { throw transportError(command: command.name) }
        }
        var replies: [RedisValue] = []
        replies.reserveCapacity(commands.count)
        for command in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                throw transportError(command: command.name)
            }
            replies.append(Self.consume(raw))
        }
        return replies
    }

    /// Reads the context's error, classifies it and kills the context (hiredis errors are sticky).
    private func transportError(command: String) -> RedisError {
        guard let context else { return .closed }
        let code = chiredis_err(context)
        let reason = String(cString: chiredis_errstr(context))
        let timedOut = code == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK || reason.contains("temporarily unavailable"))
        close()
        switch code {
        case REDIS_ERR_PROTOCOL: return .protocolError(reason)
        case REDIS_ERR_OOM: return .protocolError("hiredis out of memory: \(reason)")
        default:
            if timedOut { return .timeout(endpoint: endpoint.description, command: command) }
            return .connectionLost(endpoint: endpoint.description, reason: reason.isEmpty ? "connection closed" : reason)
        }
    }

    /// Copies a reply tree into Swift values, then frees the whole tree once.
    static func consume(_ raw: UnsafeMutableRawPointer) -> RedisValue {
        defer { freeReplyObject(raw) }
        return convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let node = reply.pointee
        switch node.type {
        case REDIS_REPLY_STRING:
            return .bulkString(bytes(node.str, node.len))
        case REDIS_REPLY_STATUS:
            return .simpleString(String(decoding: bytes(node.str, node.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(node.str, node.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(node.integer))
        case REDIS_REPLY_ARRAY:
            var values: [RedisValue] = []
            values.reserveCapacity(Int(node.elements))
            for index in 0..<Int(node.elements) {
                if let element = node.element[index] { values.append(convert(element)) } else { values.append(.null) }
            }
            return .array(values)
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return pointer.withMemoryRebound(to: UInt8.self, capacity: length) { Array(UnsafeBufferPointer(start: $0, count: length)) }
    }

    /// Lays the arguments out in one buffer and hands hiredis pointers and lengths (binary safe).
    private func withArgv<Result>(
        _ arguments: [[UInt8]],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Result
    ) -> Result {
        var flat: [UInt8] = []
        flat.reserveCapacity(arguments.reduce(0) { $0 + $1.count } + 1)
        var offsets: [Int] = []
        var lengths: [Int] = []
        for argument in arguments {
            offsets.append(flat.count)
            lengths.append(argument.count)
            flat.append(contentsOf: argument)
        }
        flat.append(0)
        return flat.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            var pointers: [UnsafePointer<CChar>?] = offsets.map { base + $0 }
            return pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { lens in
                    body(Int32(arguments.count), argv.baseAddress!, lens.baseAddress!)
                }
            }
        }
    }
}

extension timeval {
    init(duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self.init(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
    }
}
