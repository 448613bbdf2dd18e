public import Contracts
public import Logging
public import RedisClient

/// One hash written by a command, guarded by the version it had when the decision was made.
public struct RecordWrite: Sendable {
    public let key: String
    /// The version read before deciding; 0 means the key must not exist yet, nil means any (content-addressed data).
    public let expectedVersion: Int?
    public let newVersion: Int
    public let fields: [(String, [UInt8])]
    /// The change this write makes to the dashboard projection, applied in the same commit.
    public let dashboard: DashboardPatch?

    public init(key: String, expectedVersion: Int?, newVersion: Int, fields: [(String, [UInt8])], dashboard: DashboardPatch? = nil) {
        self.key = key
        self.expectedVersion = expectedVersion
        self.newVersion = newVersion
        self.fields = fields
        self.dashboard = dashboard
    }
}

/// What committing a command's decision did.
public enum CommitResult: Sendable, Equatable {
    /// Written; the outcome is on the events stream and the reply list.
    case committed
    /// The command id was seen before: nothing written, the first outcome (raw JSON) pushed again.
    case replayed(firstOutcome: [UInt8])
    /// A record changed since it was read: nothing written; read again and decide again.
    case conflict(key: String, actualVersion: Int)
}

/// Timings of the marks a commit leaves.
public struct CommitPolicy: Sendable {
    /// How long a command id is remembered for replays.
    public var idempotencyTTLSeconds: Int
    /// How long an unread outcome waits on its reply list (DESIGN: five minutes).
    public var replyTTLSeconds: Int
    /// The versions the events and commands are written at (CRM_EMIT_VERSIONS; rolling upgrades).
    public var emitVersions: EmitVersions

    public init(idempotencyTTLSeconds: Int = 7 * 24 * 3600, replyTTLSeconds: Int = 300, emitVersions: EmitVersions = EmitVersions()) {
        self.idempotencyTTLSeconds = idempotencyTTLSeconds
        self.replyTTLSeconds = replyTTLSeconds
        self.emitVersions = emitVersions
    }
}

/// Applies a command's decision to the storage in one atomic step.
public struct CommandCommitter: Sendable {
    public let storage: any CrmStorage
    public let group: String
    public let policy: CommitPolicy

    public init(storage: any CrmStorage, group: String, policy: CommitPolicy = .init()) {
        self.storage = storage
        self.group = group
        self.policy = policy
    }

    public init(pool: RedisPool, group: String, policy: CommitPolicy = .init()) {
        self.init(storage: RedisCrmStorage(pool: pool), group: group, policy: policy)
    }

    /// Writes the decision. With `acknowledging`, the command's stream entry is acknowledged in the
    /// same atomic step (on commit and on replay, not on conflict).
    public func commit(command: Envelope, shard: ShardKeys, writes: [RecordWrite], events: [Envelope], outcome: Envelope?,
                       commands: [(stream: String, envelope: Envelope)] = [],
                       acknowledging entry: (stream: String, entryID: String)? = nil) async throws -> CommitResult {
        try await storage.commit(CommitRequest(
            idempotencyKey: shard.idempotency(group: group, messageID: command.id), eventsStream: shard.events,
            replyList: shard.reply(commandID: command.id), source: entry.map { ($0.stream, group, $0.entryID) },
            writes: writes, events: events.map(policy.emitVersions.shape), outcome: outcome, policy: policy,
            commands: commands.map { ($0.stream, policy.emitVersions.shape($0.envelope)) }))
    }
}

/// What a command decided: the records to write, the events, and its outcome.
public struct CommandDecision: Sendable {
    public let writes: [RecordWrite]
    public let events: [Envelope]
    /// The command's outcome; nil for a reaction to an event, which answers nobody.
    public let outcome: Envelope?
    /// Commands for other services (same shard), written in the same step.
    public let commands: [(stream: String, envelope: Envelope)]
    /// Runs once the decision is committed (not on a replay): after hooks.
    public let afterCommit: (@Sendable () async -> Void)?

    public init(writes: [RecordWrite], events: [Envelope], outcome: Envelope?, commands: [(stream: String, envelope: Envelope)] = [],
                afterCommit: (@Sendable () async -> Void)? = nil) {
        self.writes = writes
        self.events = events
        self.outcome = outcome
        self.commands = commands
        self.afterCommit = afterCommit
    }
}

extension CommandCommitter {
    /// Decides and commits, deciding again when a record changed meanwhile (optimistic concurrency);
    /// a `Rejection` thrown by `decide` is committed as `command.rejected`. After `maxAttempts`
    /// conflicts the command is rejected with `conflict`. Returns the outcome (the first one on a replay).
    @discardableResult
    public func decideAndCommit(_ command: Envelope, shard: ShardKeys, acknowledging entry: (stream: String, entryID: String)?,
                                maxAttempts: Int = 32, logger: Logger, decide: () async throws -> CommandDecision) async throws -> CommittedOutcome {
        for attempt in 1...maxAttempts {
            let decision: CommandDecision
            do {
                decision = try await decide()
            } catch let rejection as Rejection {
                decision = CommandDecision(writes: [], events: [], outcome: CommandOutcome.rejected(command, rejection))
            }
            switch try await commit(command: command, shard: shard, writes: decision.writes, events: decision.events,
                                    outcome: decision.outcome, commands: decision.commands, acknowledging: entry) {
            case .committed:
                await decision.afterCommit?()
                return decision.outcome.map(CommittedOutcome.decided) ?? .silent
            case .replayed(let first): return .replayed(first)
            case .conflict(let key, let version):
                logger.debug("optimistic conflict, deciding again", metadata: ["crm.key": "\(key)", "crm.version": "\(version)"])
                // Many writers on one record (branch completions, votes): a short, growing, random
                // pause lets one through instead of all colliding again.
                if attempt > 1 { try? await Task.sleep(for: .microseconds(Int.random(in: 0...(200 * min(attempt, 20))))) }
            }
        }
        let rejection = Rejection(.conflict, "the record kept changing while this command was applied (\(maxAttempts) attempts); send it again")
        let outcome = CommandOutcome.rejected(command, rejection)
        switch try await commit(command: command, shard: shard, writes: [], events: [], outcome: outcome, acknowledging: entry) {
        case .replayed(let first): return .replayed(first)
        case .committed, .conflict: return .decided(outcome)
        }
    }
}

/// The outcome a committed command got: decided now, or (for a command seen before) its first outcome as stored.
public enum CommittedOutcome: Sendable {
    case decided(Envelope)
    case replayed([UInt8])
    /// A reaction to an event, committed with no outcome.
    case silent

    public var isSilent: Bool {
        if case .silent = self { return true }
        return false
    }
}
