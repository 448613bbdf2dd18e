/// Where and how to connect: parsed from `redis://[user:password@]host:port[/db]`,
/// `unix://[user:password@]/path[?db=N]` or, for a Redis Cluster,
/// `redis+cluster://[user:password@]host1:port1,host2:port2,…` (seed nodes: the client learns
/// every node from whichever seed answers; a cluster has database 0 only).
public struct RedisEndpoint: Sendable, Hashable, CustomStringConvertible {
    public enum Address: Sendable, Hashable {
        case tcp(host: String, port: Int)
        case unixSocket(path: String)
    }

    public var address: Address
    public var username: String?
    public var password: String?
    public var database: Int
    /// The seed nodes of a Redis Cluster; empty for a single server. `address` is the first seed.
    public var clusterSeeds: [Address]

    public init(address: Address, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.address = address
        self.username = username
        self.password = password
        self.database = database
        self.clusterSeeds = []
    }

    /// A Redis Cluster reached through `seeds` (at least one).
    public init(clusterSeeds seeds: [Address], username: String? = nil, password: String? = nil) {
        precondition(!seeds.isEmpty, "a cluster needs a seed node")
        self.init(address: seeds[0], username: username, password: password)
        self.clusterSeeds = seeds
    }

    /// Whether this names a Redis Cluster (commands are routed by slot) rather than one server.
    public var isCluster: Bool { !clusterSeeds.isEmpty }

    /// The same credentials at another address (a cluster node).
    func node(_ address: Address) -> RedisEndpoint {
        RedisEndpoint(address: address, username: username, password: password)
    }

    /// Parses a connection URL; the error names what is wrong with it.
    public init(url: String) throws(RedisError) {
        func fail(_ why: String) -> RedisError { .invalidConfiguration("\(why) in Redis URL '\(Self.redact(url))'") }
        if url.hasPrefix("unix://") {
            var rest = Substring(url.dropFirst("unix://".count))
            var database = 0
            if let query = rest.firstIndex(of: "?") {
                let params = rest[rest.index(after: query)...]
                rest = rest[..<query]
                for pair in params.split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, parts[0] == "db", let db = Int(parts[1]), db >= 0 else {
                        throw fail("unknown query parameter '\(pair)'")
                    }
                    database = db
                }
            }
            var username: String?
            var password: String?
            if !rest.hasPrefix("/"), let at = rest.firstIndex(of: "@") {
                (username, password) = Self.credentials(rest[..<at])
                rest = rest[rest.index(after: at)...]
            }
            guard rest.hasPrefix("/") else { throw fail("the socket path must be absolute") }
            self.init(address: .unixSocket(path: String(rest)), username: username, password: password, database: database)
            return
        }
        if url.hasPrefix(Self.clusterScheme) {
            self = try Self.parseCluster(url, fail: fail)
            return
        }
        guard url.hasPrefix("redis://") else { throw fail("the scheme must be redis://, unix:// or redis+cluster://") }
        var rest = Substring(url.dropFirst("redis://".count))
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            (username, password) = Self.credentials(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let dbText = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !dbText.isEmpty {
                guard let db = Int(dbText), db >= 0 else { throw fail("the database '\(dbText)' is not a number") }
                database = db
            }
        }
        var host = rest
        var port = 6379
        if let colon = rest.lastIndex(of: ":") {
            host = rest[..<colon]
            guard let parsed = Int(rest[rest.index(after: colon)...]), (1...65535).contains(parsed) else {
                throw fail("the port is not a number from 1 to 65535")
            }
            port = parsed
        }
        guard !host.isEmpty else { throw fail("the host is missing") }
        self.init(address: .tcp(host: String(host), port: port), username: username, password: password, database: database)
    }

    private static let clusterScheme = "redis+cluster://"

    private static func parseCluster(_ url: String, fail: (String) -> RedisError) throws(RedisError) -> RedisEndpoint {
        var rest = Substring(url.dropFirst(clusterScheme.count))
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            (username, password) = credentials(rest[..<at])
            rest = rest[rest.index(after: at)...]
        }
        if let slash = rest.firstIndex(of: "/") {
            let dbText = rest[rest.index(after: slash)...]
            guard dbText.isEmpty || dbText == "0" else { throw fail("a cluster has database 0 only, not '\(dbText)'") }
            rest = rest[..<slash]
        }
        var seeds: [Address] = []
        for seed in rest.split(separator: ",", omittingEmptySubsequences: false) {
            guard let colon = seed.lastIndex(of: ":"), colon != seed.startIndex else { throw fail("the seed '\(seed)' is not host:port") }
            guard let port = Int(seed[seed.index(after: colon)...]), (1...65535).contains(port) else {
                throw fail("the port of seed '\(seed)' is not a number from 1 to 65535")
            }
            seeds.append(.tcp(host: String(seed[..<colon]), port: port))
        }
        guard !seeds.isEmpty else { throw fail("no seed node is listed") }
        return RedisEndpoint(clusterSeeds: seeds, username: username, password: password)
    }

    /// The endpoint without credentials, safe to log.
    public var description: String {
        if isCluster {
            return "cluster:" + clusterSeeds.map { RedisEndpoint(address: $0).description }.joined(separator: ",")
        }
        switch address {
        case .tcp(let host, let port): return "\(host):\(port)" + (database == 0 ? "" : "/\(database)")
        case .unixSocket(let path): return "unix:\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }

    static func redact(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let scheme = ["redis://", "unix://", clusterScheme].first(where: url.hasPrefix) else { return url }
        return scheme + "***" + String(url[at...])
    }

    /// `user:password`, `:password` or `user`, percent-decoded.
    private static func credentials(_ text: Substring) -> (String?, String?) {
        guard let colon = text.firstIndex(of: ":") else { return (text.isEmpty ? nil : percentDecoded(text), nil) }
        let user = text[..<colon]
        return (user.isEmpty ? nil : percentDecoded(user), percentDecoded(text[text.index(after: colon)...]))
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
               let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
