public import Contracts

/// Some fields of one hash, to read together with others in one round trip.
public struct HashRead: Sendable {
    public let key: String
    public let fields: [String]

    public init(_ key: String, _ fields: [String]) {
        self.key = key
        self.fields = fields
    }
}

/// One command's decision, ready to be applied atomically (DESIGN §4): the idempotency check, the
/// version checks, the writes, the events, the outcome and the acknowledgement of its stream entry.
public struct CommitRequest: Sendable {
    public let idempotencyKey: String
    public let eventsStream: String
    public let replyList: String
    /// The command's stream entry to acknowledge with the effect (`nil` when it came from no stream).
    public let source: (stream: String, group: String, entryID: String)?
    public let writes: [RecordWrite]
    public let events: [Envelope]
    /// Nil for a reaction to an event: no outcome event, no reply; the idempotency mark is still set.
    public let outcome: Envelope?
    public let policy: CommitPolicy
    /// Commands for other services, appended to their streams (of the same shard) in the same step.
    public let commands: [(stream: String, envelope: Envelope)]

    public init(idempotencyKey: String, eventsStream: String, replyList: String, source: (stream: String, group: String, entryID: String)?,
                writes: [RecordWrite], events: [Envelope], outcome: Envelope?, policy: CommitPolicy,
                commands: [(stream: String, envelope: Envelope)] = []) {
        self.idempotencyKey = idempotencyKey
        self.eventsStream = eventsStream
        self.replyList = replyList
        self.source = source
        self.writes = writes
        self.events = events
        self.outcome = outcome
        self.policy = policy
        self.commands = commands
    }
}

/// Where the CRM's records live. The services use Redis (`RedisCrmStorage`); the Level 1 API can run
/// in-process on any other implementation (CrmKit ships an in-memory one). Every record is a hash
/// whose field `v` is its version; a commit either applies all of a decision or none of it.
public protocol CrmStorage: Sendable {
    /// The requested fields of each hash, nil where a field (or the hash) is absent.
    func read(_ reads: [HashRead]) async throws -> [[[UInt8]?]]
    /// Every field of one hash (empty when it does not exist).
    func readAll(_ key: String) async throws -> [(field: String, value: [UInt8])]
    /// Applies a decision atomically, or reports a replay or a version conflict and writes nothing.
    func commit(_ request: CommitRequest) async throws -> CommitResult
}

extension CrmStorage {
    /// One field of one hash.
    func field(_ key: String, _ field: String) async throws -> [UInt8]? {
        try await read([HashRead(key, [field])])[0][0]
    }
}

/// A storage that keeps the events it committed, in order: what `history()` reads in-process, where
/// there is no audit-service.
public protocol CrmEventLog: Sendable {
    /// Events and outcomes committed for `tenant` (every tenant when nil), oldest first.
    func events(tenant: String?) -> [Envelope]
}
