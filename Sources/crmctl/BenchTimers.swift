import ArgumentParser
import Contracts
import CrmCore
import CrmRedis
import Foundation
import RedisClient

struct BenchTimers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-timers",
        abstract: "Measure timer firing lateness under load and the cost of a due-timer sweep against running sla-timer-service replicas.",
        discussion: """
        Schedules --timers timers through crm:{sN}:cmd:sla, due over --spread-ms starting --lead-ms from now. While they \
        are pending (the active set), times --sweeps sweeps: the claim script looking for due timers (PER-CRM-0337). \
        Then waits for every timer.fired and prints one JSON line: sweep p50/p99, lateness (firedAt − dueAt) p50/p99/max.
        """)

    @OptionGroup var connection: ClientOptions

    @Option(help: "Timers to schedule.")
    var timers: Int = 10_000

    @Option(help: "The due times spread over this many ms.")
    var spreadMs: Int = 2000

    @Option(help: "The first timer is due this many ms from now (scheduling must finish before).")
    var leadMs: Int = 4000

    @Option(help: "Sweeps to time while the timers are pending.")
    var sweeps: Int = 100

    @Option(help: "The tenant the benchmark writes to.")
    var tenant: String = "bench"

    @Option(help: "Write each timer's lateness (ms), one per line, to this file (for make bench's chart).")
    var samples: String?

    func run() async throws {
        guard timers >= 1, spreadMs >= 0, leadMs >= 500, sweeps >= 1 else { throw ValidationError("--timers ≥ 1, --spread-ms ≥ 0, --lead-ms ≥ 500, --sweeps ≥ 1") }
        let redis = try connection.connection()
        let shard = connection.router.keys(forTenant: tenant)
        let run = UUID().uuidString.prefix(8).lowercased()
        let start = Date().timeIntervalSince1970 * 1000 + Double(leadMs)
        var commands: [RedisCommand] = []
        for index in 0..<timers {
            let due = start + Double(spreadMs) * Double(index) / Double(max(1, timers - 1))
            let envelope = Envelope(type: MessageType.timerSchedule, kind: .command, tenant: tenant, actor: "bench", payload: [
                "timerId": .string("bench-\(run)-\(index)"), "at": .string(InstantText.rfc3339(milliseconds: Int64(due))),
            ])
            commands.append(StreamCommands.xadd(shard.commands(.sla), fields: [("envelope", envelope.encoded())]))
        }
        for chunk in stride(from: 0, to: commands.count, by: 1000) { _ = try await redis.pipeline(Array(commands[chunk..<min(chunk + 1000, commands.count)])) }

        // Every schedule command handled, so the whole set is pending, before the first is due.
        let clock = ContinuousClock()
        while true {
            let groups = try await redis.xinfoGroups(shard.commands(.sla))
            if let group = groups.first(where: { $0.name == "sla" }), group.lag == 0, group.pending == 0 { break }
            guard Date().timeIntervalSince1970 * 1000 < start - 100 else {
                throw ValidationError("the timers were not all scheduled before the first was due: raise --lead-ms, or is sla-timer-service running?")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        // The sweep: the claim script over the shard's pending timers while none is due yet.
        let pool = RedisPool(endpoint: try connection.endpoint(), size: 1)
        let store = TimerStore(pool: pool)
        var sweepTimes: [Double] = []
        for _ in 0..<sweeps {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            guard now < Int64(start) - 50 else { break }
            let began = clock.now
            let claimed = try await store.claim(shard: shard, now: now, leaseMilliseconds: 10_000, limit: 500)
            sweepTimes.append((clock.now - began).seconds * 1000)
            guard claimed.timers.isEmpty else { throw ValidationError("a sweep claimed due timers of tenant \(tenant): use a tenant of its own") }
        }
        let pending = Int(try await redis.send("ZCARD", shard.timersDue).integer ?? 0)
        await pool.close()

        var lateness: [Int64] = []
        var firedIDs: Set<String> = []
        var duplicates = 0
        var firstDue = Int64.max
        var lastFired = Int64.min
        var cursor = "-"
        let deadline = clock.now + .seconds(Double(leadMs + spreadMs) / 1000 + 60)
        let prefix = "bench-\(run)-"
        // After the last one fired, one more read after a pause: a timer fired twice would show there.
        var settled = false
        while clock.now < deadline {
            let entries = try await redis.xrange(shard.events, start: cursor, count: 5000)
            if let last = entries.last { cursor = "(" + last.id }
            for entry in entries {
                guard let envelope = try? EnvelopeReader().read(entry.field("envelope") ?? []), envelope.type == MessageType.timerFired,
                      let timerID = envelope.payload["timerId"]?.stringValue, timerID.hasPrefix(prefix),
                      let due = envelope.payload["dueAt"]?.stringValue.flatMap(TimerDue.instant),
                      let fired = envelope.payload["firedAt"]?.stringValue.flatMap(TimerDue.instant) else { continue }
                guard firedIDs.insert(timerID).inserted else {
                    duplicates += 1
                    continue
                }
                lateness.append(fired - due)
                firstDue = min(firstDue, due)
                lastFired = max(lastFired, fired)
            }
            if lateness.count >= timers {
                if settled { break }
                settled = true
                try await Task.sleep(for: .milliseconds(300))
            } else if entries.isEmpty {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        guard lateness.count == timers else { throw ValidationError("only \(lateness.count) of \(timers) timers fired in time: is sla-timer-service running?") }
        if let samples {
            try lateness.map(String.init).joined(separator: "\n").write(toFile: samples, atomically: true, encoding: .utf8)
        }
        lateness.sort()
        sweepTimes.sort()
        func at<T>(_ values: [T], _ share: Double) -> T { values[min(values.count - 1, Int(Double(values.count) * share))] }
        printJSON([
            "timers": .integer(Int64(timers)), "spread_ms": .integer(Int64(spreadMs)), "pending_during_sweeps": .integer(Int64(pending)),
            "sweep_p50_ms": .number((at(sweepTimes, 0.5) * 1000).rounded() / 1000), "sweep_p99_ms": .number((at(sweepTimes, 0.99) * 1000).rounded() / 1000),
            "late_p50_ms": .integer(at(lateness, 0.5)), "late_p99_ms": .integer(at(lateness, 0.99)), "late_max_ms": .integer(lateness.last ?? 0),
            // From the first due instant to the last firing: with every timer due at once, the firing rate.
            "fired_per_s": .number((Double(timers) * 1000 / Double(max(1, lastFired - firstDue))).rounded()),
            "duplicates": .integer(Int64(duplicates)),
        ])
    }
}
