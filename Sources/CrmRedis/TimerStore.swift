public import Contracts
import Crypto
import Foundation
public import RedisClient

/// Where a timer stands, as read before deciding a command.
public enum TimerState: Sendable, Equatable {
    case absent
    case pending(TimerRecord)
    /// Claimed by a consumer that is firing it now.
    case firing(TimerRecord)
    case fired(TimerRecord)
    case cancelled(TimerRecord)

    public var isActive: Bool {
        switch self {
        case .pending, .firing: true
        default: false
        }
    }
}

/// One change to a timer within a timer commit.
public struct TimerOperation: Sendable {
    public enum Kind: String, Sendable {
        /// Requires the timer not to be active (absent, fired or cancelled before).
        case schedule
        /// Schedules the timer whatever its state, replacing an active one.
        case put
        /// Requires the timer to be active.
        case cancel
        /// Cancels the timer if it is active; no precondition.
        case cancelIfActive = "cancel?"
    }

    public let kind: Kind
    public let record: TimerRecord

    public init(_ kind: Kind, _ record: TimerRecord) {
        self.kind = kind
        self.record = record
    }
}

/// An event of a timer commit, written unconditionally or only if `guardMember` was still active.
public struct GuardedEvent: Sendable {
    public let envelope: Envelope
    public let guardMember: String?

    public init(_ envelope: Envelope, onlyIfActive guardMember: String? = nil) {
        self.envelope = envelope
        self.guardMember = guardMember
    }
}

/// A change to a record's stored SLA clock within a timer commit.
public struct ClockWrite: Sendable {
    public let field: String
    /// The clock's JSON; nil deletes it.
    public let json: [UInt8]?
    /// Written only if this timer was still active (nil: always).
    public let guardMember: String?

    public init(field: String, json: [UInt8]?, onlyIfActive guardMember: String? = nil) {
        self.field = field
        self.json = json
        self.guardMember = guardMember
    }
}

public enum TimerCommitResult: Sendable, Equatable {
    /// Written; `written` are the indexes of the events that were (guards may skip some).
    case committed(written: [Int])
    case replayed
    /// A timer's state changed since it was read: nothing written; read again and decide again.
    case conflict(member: String)
}

/// Timers claimed by one consumer under one lease.
public struct ClaimedTimers: Sendable {
    /// The lease's expiry (ms), also the token that completes them.
    public let leaseExpiry: Int64
    /// How many were taken over from a consumer whose lease expired.
    public let reclaimed: Int
    public let timers: [TimerRecord]
    /// Members whose stored JSON could not be read (completed without events, and logged).
    public let unreadable: [String]
    /// The earliest next due time or lease expiry on the shard, if any.
    public let nextWake: Int64?
}

/// The durable timers of DESIGN §4 in Redis: a sorted set per shard scored by due time, payloads in a
/// hash, claims with a lease in a second sorted set, and completion in the same script as the events.
public struct TimerStore: Sendable {
    public let pool: RedisPool
    /// How long fired and cancelled timers are remembered (a cancel can still say "fired at …").
    public let retentionMilliseconds: Int64

    public init(pool: RedisPool, retentionMilliseconds: Int64 = 7 * 86_400_000) {
        self.pool = pool
        self.retentionMilliseconds = retentionMilliseconds
    }

    public func state(shard: ShardKeys, tenant: String, timerID: String) async throws -> TimerState {
        let member = TimerMember.make(tenant: tenant, timerID: timerID)
        let replies = try await pool.pipeline([
            RedisCommand("ZSCORE", [shard.timersDue, member]), RedisCommand("ZSCORE", [shard.timersLeased, member]),
            RedisCommand("HGET", [shard.timersData, member]),
        ])
        guard let bytes = replies[2].bytes, let record = try? Self.decoder.decode(TimerRecord.self, from: Data(bytes)) else { return .absent }
        if !replies[0].isNull { return .pending(record) }
        if !replies[1].isNull { return .firing(record) }
        switch record.status {
        case .fired: return .fired(record)
        case .cancelled: return .cancelled(record)
        // Stored as pending but in neither set: a schedule never completed; treat it as unknown.
        case .pending: return .absent
        }
    }

    /// Writes a decision about timers atomically with its events, outcome, idempotency mark and ack.
    public func commit(shard: ShardKeys, messageID: String, group: String, operations: [TimerOperation], clocks: [ClockWrite] = [],
                       events: [GuardedEvent], outcome: Envelope?, acknowledging entry: (stream: String, entryID: String)?, now: Int64,
                       policy: CommitPolicy) async throws -> TimerCommitResult {
        let keys: [any RedisArgumentConvertible] = [
            shard.idempotency(group: group, messageID: messageID), shard.events, shard.reply(commandID: messageID),
            entry?.stream ?? shard.commands(.sla), shard.timersDue, shard.timersLeased, shard.timersData, shard.timersDone, shard.slaClocks,
        ]
        var arguments: [any RedisArgumentConvertible] = [
            outcome?.encoded() ?? [], policy.idempotencyTTLSeconds, policy.replyTTLSeconds, entry == nil ? "" : group, entry?.entryID ?? "",
            now, retentionMilliseconds, operations.count + clocks.count, events.count,
        ]
        for operation in operations {
            arguments += [operation.kind.rawValue, operation.record.member, operation.record.dueAt, Self.encode(operation.record)]
        }
        for clock in clocks {
            arguments += [clock.json == nil ? "unclock" : "clock", clock.field, clock.guardMember ?? "", clock.json ?? []]
        }
        for event in events {
            arguments += [event.guardMember ?? "", event.envelope.encoded(), DashboardPatch.sla(event.envelope, shard: shard)?.encoded() ?? []]
        }
        let reply = try await pool.evaluate(TimerScripts.commit, keys: keys, arguments: arguments)
        guard let parts = reply.array, let status = parts.first?.string else {
            throw RedisError.unexpectedReply(command: "timer commit script", expected: "status array", got: reply.kindName)
        }
        switch status {
        case "ok": return .committed(written: parts.dropFirst().compactMap { $0.string.flatMap { Int($0) } })
        case "replay": return .replayed
        case "conflict": return .conflict(member: parts.count > 1 ? parts[1].string ?? "" : "")
        default: throw RedisError.unexpectedReply(command: "timer commit script", expected: "ok, replay or conflict", got: status)
        }
    }

    /// Claims up to `limit` due (or abandoned) timers of the shard under a lease of `leaseMilliseconds`.
    public func claim(shard: ShardKeys, now: Int64, leaseMilliseconds: Int64, limit: Int) async throws -> ClaimedTimers {
        let reply = try await pool.evaluate(TimerScripts.claim, keys: [shard.timersDue, shard.timersLeased, shard.timersData],
                                            arguments: [now, leaseMilliseconds, limit])
        guard let parts = reply.array, parts.count >= 3, let expiry = parts[0].string.flatMap({ Int64($0) }) else {
            throw RedisError.unexpectedReply(command: "timer claim script", expected: "expiry, count, wake, members", got: reply.kindName)
        }
        var timers: [TimerRecord] = []
        var unreadable: [String] = []
        var index = 3
        while index + 1 < parts.count {
            let member = parts[index].string ?? ""
            if let bytes = parts[index + 1].bytes, !bytes.isEmpty, let record = try? Self.decoder.decode(TimerRecord.self, from: Data(bytes)) {
                timers.append(record)
            } else {
                unreadable.append(member)
            }
            index += 2
        }
        return ClaimedTimers(leaseExpiry: expiry, reclaimed: Int(parts[1].string ?? "0") ?? 0, timers: timers, unreadable: unreadable,
                             nextWake: parts[2].string.flatMap { Int64($0) })
    }

    /// Fires claimed timers: writes each one's events and marks it fired, if this lease still holds it.
    /// Returns how many fired.
    public func complete(shard: ShardKeys, leaseExpiry: Int64, now: Int64, firings: [(record: TimerRecord, events: [Envelope])]) async throws -> Int {
        guard !firings.isEmpty else { return 0 }
        var arguments: [any RedisArgumentConvertible] = [leaseExpiry, now, retentionMilliseconds, firings.count]
        for (record, events) in firings {
            arguments += [record.member, Self.encode(record.done(.fired, at: now)), events.count]
            arguments += events.map { $0.encoded() as any RedisArgumentConvertible }
            arguments += events.map { (DashboardPatch.sla($0, shard: shard)?.encoded() ?? []) as any RedisArgumentConvertible }
        }
        let reply = try await pool.evaluate(TimerScripts.complete, keys: [shard.events, shard.timersLeased, shard.timersData, shard.timersDone],
                                            arguments: arguments)
        return Int(reply.integer ?? 0)
    }

    /// Completes members whose stored JSON is unreadable, without events, so they stop being claimed.
    public func discard(shard: ShardKeys, leaseExpiry: Int64, now: Int64, members: [String]) async throws {
        guard !members.isEmpty else { return }
        var arguments: [any RedisArgumentConvertible] = [leaseExpiry, now, retentionMilliseconds, members.count]
        for member in members { arguments += [member, "{\"status\":\"unreadable\"}", 0] }
        try await pool.evaluate(TimerScripts.complete, keys: [shard.events, shard.timersLeased, shard.timersData, shard.timersDone], arguments: arguments)
    }

    /// A record's stored SLA clock, if it has one.
    public func clock(shard: ShardKeys, field: String) async throws -> SlaClockState? {
        guard let bytes = try await pool.send("HGET", shard.slaClocks, field).bytes else { return nil }
        return try Self.decoder.decode(SlaClockState.self, from: Data(bytes))
    }

    /// The id of the event a timer fires: derived from the timer and its due time, so a firing is
    /// recognisable as the same one wherever it is seen.
    public static func firingID(member: String, dueAt: Int64) -> String {
        let digest = SHA256.hash(data: Array("\(member)|\(dueAt)".utf8))
        return "tf-" + digest.prefix(16).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    static func encode(_ record: TimerRecord) -> [UInt8] {
        // A record of strings, integers and JSON values always encodes.
        Array(try! encoder.encode(record))
    }

    public static func encode(_ clock: SlaClockState) -> [UInt8] {
        // Strings, integers and one finite share always encode.
        Array(try! encoder.encode(clock))
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private static let decoder = JSONDecoder()
}
