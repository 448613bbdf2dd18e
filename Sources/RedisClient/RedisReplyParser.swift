import CHiredis

/// Parses RESP bytes into values with hiredis' reader — the same code a connection runs on every
/// reply — without a socket: for measuring reply parsing and for reading captured replies.
public enum RedisReplyParser {
    /// Every complete reply in `bytes`, in order; a protocol error is thrown as `.protocolError`.
    public static func parse(_ bytes: [UInt8]) throws(RedisError) -> [RedisValue] {
        guard let reader = redisReaderCreate() else { throw .protocolError("hiredis out of memory creating a reader") }
        defer { redisReaderFree(reader) }
        let fed = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { redisReaderFeed(reader, $0.baseAddress, buffer.count) }
        }
        guard fed == REDIS_OK else { throw .protocolError("the reader refused the input") }
        var values: [RedisValue] = []
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &raw) == REDIS_OK else { throw .protocolError("malformed reply") }
            guard let raw else { return values }
            values.append(HiredisContext.consume(raw))
        }
    }
}
