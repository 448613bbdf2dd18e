/// A `MOVED` or `ASK` error reply: the slot lives (for good, or for this one command) elsewhere.
struct ClusterRedirect: Equatable {
    enum Kind: Equatable { case moved, ask }
    let kind: Kind
    let slot: Int
    let address: RedisEndpoint.Address

    /// Parses `MOVED 3999 127.0.0.1:6381` / `ASK 3999 127.0.0.1:6381`; nil for any other reply.
    init?(_ reply: RedisValue) {
        guard case .error(let message) = reply else { return nil }
        let parts = message.split(separator: " ")
        guard parts.count == 3, let slot = Int(parts[1]), let colon = parts[2].lastIndex(of: ":"),
              let port = Int(parts[2][parts[2].index(after: colon)...]) else { return nil }
        switch parts[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        self.slot = slot
        self.address = .tcp(host: String(parts[2][..<colon]), port: port)
    }
}
