import Contracts
import CrmCore
import CrmRedis
import Foundation
import Logging
import RedisClient
import ServiceKit
import SlaTimerService
import TestSupport
import Testing

/// sla-timer-service in-process against a real redis-server: the timer commands, firing, and the
/// many-consumers guarantees of DESIGN §4.
@Suite("sla-timer-service: timers", .serialized)
struct TimerHandlerTests {
    let fixture: ConsumerFixture
    let context: ServiceContext
    let handler: SlaTimerHandler
    let wakeup = TimerWakeup()

    init() async throws {
        fixture = try await ConsumerFixture()
        // The service's own pool, as ServiceRunner gives it, apart from the fixture's.
        let pool = RedisPool(endpoint: fixture.server.endpoint, size: 8, waitTimeout: .seconds(10))
        context = ServiceContext(name: "sla-timer-service", options: try ServiceOptions.fromEnvironment(), pool: pool, router: fixture.router,
                                 logger: Logger(label: "test"))
        handler = SlaTimerHandler(context: context, wakeup: wakeup)
    }

    static func options(batch: Int = 500, leaseMilliseconds: Int64 = 10_000) -> TimerSettings {
        TimerSettings(batch: batch, leaseMilliseconds: leaseMilliseconds, pollMilliseconds: 20)
    }

    func command(_ type: String, _ payload: JSONValue, id: String = Envelope.newID()) -> Envelope {
        Envelope(id: id, type: type, kind: .command, tenant: fixture.tenant, actor: "u-17", payload: payload)
    }

    func outcome(_ command: Envelope) async throws -> Envelope {
        let reply = try await fixture.redis.send("LPOP", fixture.shard.reply(commandID: command.id))
        return try EnvelopeReader().read(try #require(reply.bytes, "an outcome for \(command.type) \(command.payload)"))
    }

    func events(_ type: String) async throws -> [Envelope] {
        try await fixture.redis.xrange(fixture.shard.events).map { try EnvelopeReader().read($0.field("envelope") ?? []) }.filter { $0.type == type }
    }

    /// Publishes commands on crm:{sN}:cmd:sla and waits until the consumer has handled them all.
    func run(_ commands: [Envelope], firing: Bool = false) async throws {
        let consumer = fixture.consumer(handler, name: "sla-1", claimIdle: .seconds(1))
        let firer = TimerFirer(context: context, settings: Self.options(), wakeup: wakeup)
        let firerTask = Task { if firing { try await firer.run() } }
        defer { firer.requestStop() }
        try await running(consumer) {
            for command in commands { try await fixture.publishRaw(command.encoded(), to: fixture.shard.commands(.sla)) }
            #expect(try await eventually {
                let groups = try await fixture.redis.xinfoGroups(fixture.shard.commands(.sla))
                return groups.first?.lag == 0 && groups.first?.pending == 0
            })
        }
        firer.requestStop()
        try await firerTask.value
    }

    // FUN-CRM-0290: a scheduled timer fires once, as timer.fired with its data, never before it is due.
    @Test("schedule after PT0.3S: accepted, then timer.fired with the data, not early")
    func scheduleAndFire() async throws {
        let schedule = command("timer.schedule", ["timerId": "T-1", "after": "PT0.3S", "data": ["note": "call back"]])
        let firer = TimerFirer(context: context, settings: Self.options(), wakeup: wakeup)
        let firerTask = Task { try await firer.run() }
        try await run([schedule])
        let accepted = try await outcome(schedule)
        #expect(accepted.type == "command.accepted")
        #expect(accepted.payload["recordId"] == "T-1")
        #expect(try await eventually(timeout: .seconds(5)) { try await events("timer.fired").count == 1 })
        firer.requestStop()
        try await firerTask.value
        let fired = try #require(try await events("timer.fired").first)
        #expect(fired.payload["timerId"] == "T-1")
        #expect(fired.payload["data"] == ["note": "call back"])
        #expect(fired.payload["scheduledBy"] == .string(schedule.id))
        #expect(fired.causationId == schedule.id)
        #expect(fired.correlationId == schedule.id)
        let due = try #require(fired.payload["dueAt"]?.stringValue.flatMap(TimerDue.instant))
        let firedAt = try #require(fired.payload["firedAt"]?.stringValue.flatMap(TimerDue.instant))
        #expect(firedAt >= due, "never early")
        #expect(firedAt - due < 1000)
        #expect(try await events("timer.fired").count == 1)
    }

    // FUN-CRM-0290: cancellation is exact; unknown and fired timers are answered clearly.
    @Test("cancel: a pending timer never fires; twice is harmless; unknown is not_found; fired is already_fired")
    func cancel() async throws {
        let far = command("timer.schedule", ["timerId": "T-far", "at": "2099-01-01T00:00:00Z"])
        let again = command("timer.schedule", ["timerId": "T-far", "after": "PT1H"])
        let cancel = command("timer.cancel", ["timerId": "T-far"])
        let cancelTwice = command("timer.cancel", ["timerId": "T-far"])
        let unknown = command("timer.cancel", ["timerId": "T-none"])
        let soon = command("timer.schedule", ["timerId": "T-soon", "after": "PT0.05S"])
        try await run([far, again, cancel, cancelTwice, unknown, soon], firing: true)
        #expect(try await outcome(far).type == "command.accepted")
        let duplicate = try await outcome(again)
        #expect(duplicate.payload["code"] == "already_exists")
        #expect(duplicate.payload["field"] == "payload.timerId")
        #expect(try await outcome(cancel).type == "command.accepted")
        #expect(try await outcome(cancelTwice).type == "command.accepted")
        let notFound = try await outcome(unknown)
        #expect(notFound.payload["code"] == "not_found")
        #expect(notFound.payload["field"] == "payload.timerId")
        #expect(try await fixture.redis.send("ZSCORE", fixture.shard.timersDue, "acme:T-far").isNull, "the cancelled timer is gone from the due set")

        let firer = TimerFirer(context: context, settings: Self.options())
        let firerTask = Task { try await firer.run() }
        #expect(try await eventually(timeout: .seconds(5)) { try await events("timer.fired").count == 1 })
        firer.requestStop()
        try await firerTask.value
        let late = command("timer.cancel", ["timerId": "T-soon"])
        let rescheduled = command("timer.schedule", ["timerId": "T-soon", "at": "2099-01-01T00:00:00Z"])
        try await run([late, rescheduled])
        let refused = try await outcome(late)
        #expect(refused.payload["code"] == "already_fired")
        #expect(refused.payload["message"]?.stringValue?.contains("fired at") == true)
        #expect(try await outcome(rescheduled).type == "command.accepted", "a fired timer id may be scheduled again")
        #expect(try await events("timer.fired").map { $0.payload["timerId"] } == ["T-soon"])
    }

    @Test("malformed, missing and wrong fields are rejected with invalid_payload naming the field")
    func malformed() async throws {
        let cases: [(JSONValue, String, String)] = [
            (["after": "PT1H"], "timer.schedule", "payload.timerId"),
            (["timerId": "T-1"], "timer.schedule", "payload.at"),
            (["timerId": "T-1", "at": "2099-01-01T00:00:00Z", "after": "PT1H"], "timer.schedule", "payload.after"),
            (["timerId": "T-1", "after": "P1M"], "timer.schedule", "payload.after"),
            (["timerId": "T-1", "after": "soon"], "timer.schedule", "payload.after"),
            (["timerId": "T-1", "at": "tomorrow"], "timer.schedule", "payload.at"),
            (["timerId": "T-1", "at": 12], "timer.schedule", "payload.at"),
            (["timerId": "T 1", "after": "PT1H"], "timer.schedule", "payload.timerId"),
            (["timerId": "T-1", "after": "PT1H", "data": "text"], "timer.schedule", "payload.data"),
            (["timerId": "T-1", "after": "PT1H", "colour": "red"], "timer.schedule", "payload.colour"),
            ([:], "timer.cancel", "payload.timerId"),
            (["timerId": 7], "timer.cancel", "payload.timerId"),
            (["timerId": "T-1", "at": "2099-01-01T00:00:00Z"], "timer.cancel", "payload.at"),
        ]
        let commands = cases.map { command($0.1, $0.0) }
        try await run(commands)
        for (command, expected) in zip(commands, cases) {
            let rejected = try await outcome(command)
            #expect(rejected.payload["code"] == "invalid_payload", "\(expected.0)")
            #expect(rejected.payload["field"] == .string(expected.2), "\(expected.0): \(rejected.payload["message"] ?? "")")
        }
        #expect(try await fixture.redis.send("ZCARD", fixture.shard.timersDue).integer == 0)
    }

    @Test("a replayed command id answers its first outcome again and schedules nothing new; bad input goes to the DLQ")
    func replayAndDeadLetters() async throws {
        let schedule = command("timer.schedule", ["timerId": "T-r", "at": "2099-01-01T00:00:00Z"])
        let event = Envelope(type: "timer.fired", kind: .event, tenant: fixture.tenant, actor: "u-17", payload: ["timerId": "T-x"])
        let unknown = command("timer.snooze", ["timerId": "T-r"])
        let consumer = fixture.consumer(handler, name: "sla-1", claimIdle: .seconds(1))
        try await running(consumer) {
            try await fixture.publishRaw(schedule.encoded(), to: fixture.shard.commands(.sla))
            try await fixture.publishRaw(schedule.encoded(), to: fixture.shard.commands(.sla))
            try await fixture.publishRaw(event.encoded(), to: fixture.shard.commands(.sla))
            try await fixture.publishRaw(unknown.encoded(), to: fixture.shard.commands(.sla))
            try await fixture.publishRaw(schedule.encoded(), to: fixture.shard.events)
            #expect(try await eventually { try await fixture.dlq().count == 3 })
            #expect(try await eventually {
                let groups = try await fixture.redis.xinfoGroups(fixture.shard.commands(.sla))
                return groups.first?.lag == 0 && groups.first?.pending == 0
            })
        }
        #expect(try await outcome(schedule).type == "command.accepted")
        #expect(try await outcome(schedule).type == "command.accepted", "the replay pushes the first outcome again")
        #expect(try await events("command.accepted").count == 1)
        let reasons = try await fixture.dlq().compactMap { $0.string("reason") }
        #expect(reasons.sorted() == ["unknown_type", "wrong_stream", "wrong_stream"])
    }

    /// Writes `count` timers due at `due` straight into the shard's timer keys (as the schedule
    /// script would), in pipelined chunks.
    func plant(_ count: Int, due: Int64) async throws {
        let encoder = JSONEncoder()
        for chunk in stride(from: 0, to: count, by: 1000) {
            var commands: [RedisCommand] = []
            for index in chunk..<min(chunk + 1000, count) {
                let record = TimerRecord(tenant: fixture.tenant, timerId: "T-\(index)", dueAt: due, scheduledAt: due - 1000, actor: "u-17",
                                         correlationId: "c-\(index)", causationId: "c-\(index)")
                commands.append(RedisCommand("ZADD", [fixture.shard.timersDue, due, record.member]))
                commands.append(RedisCommand("HSET", [fixture.shard.timersData, record.member, Array(try encoder.encode(record))]))
            }
            _ = try await fixture.redis.pipeline(commands)
        }
    }

    // SEC-CRM-0425, FUN-CRM-0290: 10,000 timers due in the same millisecond, three consumers: each fires
    // exactly once, none early; bounded batches keep each round small.
    @Test("10,000 timers due in the same millisecond with 3 consumers: each fires exactly once, none early")
    func tenThousandAtOnce() async throws {
        let total = 10_000
        let due = SystemWallClock().nowMilliseconds() + 1500
        try await plant(total, due: due)
        var firers: [TimerFirer] = []
        var pools: [RedisPool] = []
        for index in 0..<3 {
            let pool = RedisPool(endpoint: fixture.server.endpoint, size: 4)
            pools.append(pool)
            let own = ServiceContext(name: "sla-timer-service-\(index)", options: context.options, pool: pool, router: fixture.router, logger: Logger(label: "test"))
            firers.append(TimerFirer(context: own, settings: Self.options(batch: 500)))
        }
        let tasks = firers.map { firer in Task { try await firer.run() } }
        let started = ContinuousClock.now
        #expect(try await eventually(timeout: .seconds(30), every: .milliseconds(50)) { try await fixture.redis.xlen(fixture.shard.events) >= total })
        let elapsed = ContinuousClock.now - started
        try await Task.sleep(for: .milliseconds(200))  // anything fired twice would show up now
        for firer in firers { firer.requestStop() }
        for task in tasks { try await task.value }
        for pool in pools { await pool.close() }

        let fired = try await events("timer.fired")
        #expect(fired.count == total, "one timer.fired per timer")
        #expect(Set(fired.compactMap { $0.payload["timerId"]?.stringValue }).count == total, "no timer fired twice")
        let lateness = fired.compactMap { $0.payload["firedAt"]?.stringValue.flatMap(TimerDue.instant) }.map { $0 - due }.sorted()
        #expect(lateness.count == total)
        #expect(lateness.first ?? -1 >= 0, "none early")
        #expect(try await fixture.redis.send("ZCARD", fixture.shard.timersDue).integer == 0)
        #expect(try await fixture.redis.send("ZCARD", fixture.shard.timersLeased).integer == 0)
        print("10,000 timers: all fired \(elapsed) after the test started waiting; lateness p50 \(lateness[total / 2]) ms, p99 \(lateness[total * 99 / 100]) ms, max \(lateness.last ?? 0) ms")
    }

    // FUN-CRM-0290: a consumer that dies holding leases loses nothing: its timers fire once, elsewhere.
    @Test("a claim whose consumer died is taken over when the lease expires, and fires once")
    func expiredLease() async throws {
        let due = SystemWallClock().nowMilliseconds() - 10
        try await plant(20, due: due)
        let store = TimerStore(pool: fixture.pool)
        let dead = try await store.claim(shard: fixture.shard, now: SystemWallClock().nowMilliseconds(), leaseMilliseconds: 300, limit: 50)
        #expect(dead.timers.count == 20, "the doomed consumer holds every timer and never completes them")
        let firer = TimerFirer(context: context, settings: Self.options(leaseMilliseconds: 300))
        let task = Task { try await firer.run() }
        #expect(try await eventually(timeout: .seconds(5)) { try await events("timer.fired").count == 20 })
        // The dead consumer wakes up late and tries to complete with its stale lease: nothing happens.
        let stale = try await store.complete(shard: fixture.shard, leaseExpiry: dead.leaseExpiry, now: SystemWallClock().nowMilliseconds(),
                                             firings: dead.timers.map { ($0, [Envelope(type: "timer.fired", kind: .event, tenant: fixture.tenant, actor: "u-17", payload: [:])]) })
        #expect(stale == 0)
        firer.requestStop()
        try await task.value
        #expect(try await events("timer.fired").count == 20)
    }
}
