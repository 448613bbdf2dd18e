import ArgumentParser
import Contracts
import CrmCore
import CrmRedis
import Foundation
import RedisClient

/// `crmctl bench-dashboard`: the dashboard query target (DESIGN §5, PER-CRM-0330): loads N open
/// records into a tenant's projection (with the projection's own Lua, in batches, not through the
/// services: 100,000 commands would take minutes), then times 1,000-item pages as the gateway makes
/// them, HTTP aside (`DashboardQuery`: two round trips to Redis, decoding, the JSON body): the first
/// page, a page deep in the set (by cursor), and a filtered page (owner + SLA at risk). Prints one JSON line.
struct BenchDashboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-dashboard",
        abstract: "Measure a 1,000-item dashboard page with N records present; prints one JSON line.")

    @OptionGroup var connection: ClientOptions

    @Option(help: "Open records to load.")
    var records: Int = 100_000

    @Option(help: "Timed reads of each page kind.")
    var reads: Int = 200

    @Option(help: "Items per page (≤ 1000).")
    var limit: Int = 1000

    @Option(help: "The tenant the benchmark writes to (its dashboard keys are replaced).")
    var tenant: String = "bench-dashq"

    func run() async throws {
        guard records >= 1, reads >= 1, (1...DashboardFilter.maximumLimit).contains(limit), Identifier.isTenant(tenant) else {
            throw ValidationError("--records ≥ 1, --reads ≥ 1, --limit 1…1000, a valid --tenant")
        }
        let pool = RedisPool(endpoint: try connection.endpoint(), size: 2)
        let shard = connection.router.keys(forTenant: tenant)
        let prefix = shard.dashboard(tenant: tenant)
        try await clear(prefix: prefix, pool: pool)
        let memoryBefore = try await usedMemory(pool)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let stages = ["new", "contacted", "qualified", "proposal"]
        let loadStarted = ContinuousClock.now
        for start in stride(from: 0, to: records, by: 1000) {
            let patches = (start..<min(start + 1000, records)).map { index -> DashboardPatch in
                var patch = DashboardPatch(prefix: prefix, member: "lead:B-\(index)")
                patch.kind = "lead"
                patch.stage = stages[index % stages.count]
                patch.open = true
                patch.createdAt = now - Int64(records - index) * 1000
                patch.owner = "rep-\(index % 20)"
                patch.team = "team-\(index % 3)"
                patch.sla = index % 10 == 0 ? .atRisk : (index % 25 == 0 ? .breached : .onTrack)
                patch.slaDue = now + Int64(index % 5000) * 60_000
                patch.approvalDelta = index % 7 == 0 ? 1 : 0
                return patch
            }
            try await DashboardLoader.apply(patches, pool: pool, anyKeyOfTheShard: shard.events)
        }
        let loadSeconds = (ContinuousClock.now - loadStarted).seconds
        let bytesPerRecord = (try await usedMemory(pool) - memoryBefore) / records
        let query = DashboardQuery(pool: pool, router: connection.router)
        var first = DashboardFilter()
        first.limit = limit
        let deepCursor = try await cursor(deep: records / 2, query: query, now: now)
        var deep = first
        deep.cursor = deepCursor
        var filtered = first
        filtered.owner = "rep-0"
        filtered.sla = ["at_risk"]
        var report: [String: JSONValue] = ["records": .integer(Int64(records)), "limit": .integer(Int64(limit)),
                                           "load_s": .number((loadSeconds * 100).rounded() / 100), "projection_bytes_per_record": .integer(Int64(bytesPerRecord))]
        for (name, filter) in [("first", first), ("deep", deep), ("filtered", filtered)] {
            var samples: [Double] = []
            var items = 0
            var bytes = 0
            // CPU time, the client's and Redis's, is what the page costs on a quiet machine; the
            // wall-clock figures also hold waiting for a core on a busy one.
            try await pool.send("CONFIG", "RESETSTAT")
            let cpuBefore = processCPUMilliseconds()
            for round in 0..<(reads + 5) {
                let started = ContinuousClock.now
                let page = try await query.pending(tenant: tenant, filter: filter, now: now)
                let body = page.json(now: now)
                if round >= 5 { samples.append((ContinuousClock.now - started).seconds * 1000) }
                items = page.items.count
                bytes = body.count
            }
            let clientCPU = (processCPUMilliseconds() - cpuBefore) / Double(reads + 5)
            let lastPage = try await query.pending(tenant: tenant, filter: filter, now: now)
            let jsonBefore = processCPUMilliseconds()
            for _ in 0..<reads { _ = lastPage.json(now: now) }
            report["\(name)_json_cpu_ms"] = .number(((processCPUMilliseconds() - jsonBefore) / Double(reads) * 1000).rounded() / 1000)
            let serverCPU = try await commandMicroseconds(pool) / Double(reads + 5) / 1000
            samples.sort()
            report["\(name)_client_cpu_ms"] = .number((clientCPU * 1000).rounded() / 1000)
            report["\(name)_redis_cpu_ms"] = .number((serverCPU * 1000).rounded() / 1000)
            func percentile(_ p: Double) -> JSONValue { .number((samples[min(samples.count - 1, Int(Double(samples.count) * p))] * 1000).rounded() / 1000) }
            report["\(name)_items"] = .integer(Int64(items))
            report["\(name)_bytes"] = .integer(Int64(bytes))
            report["\(name)_p50_ms"] = percentile(0.5)
            report["\(name)_p99_ms"] = percentile(0.99)
        }
        printJSON(.object(report))
    }

    /// The cursor of the page that starts `deep` records into the set.
    private func cursor(deep: Int, query: DashboardQuery, now: Int64) async throws -> DashboardCursor? {
        var filter = DashboardFilter()
        filter.limit = DashboardFilter.maximumLimit
        var walked = 0
        while walked < deep {
            let page = try await query.pending(tenant: tenant, filter: filter, now: now)
            walked += page.items.count
            guard let next = page.next else { return nil }
            filter.cursor = next
        }
        return filter.cursor
    }

    /// Deletes the tenant's projection synchronously (DEL, not UNLINK), so the memory measured after is the load's.
    private func clear(prefix: String, pool: RedisPool) async throws {
        var cursor = "0"
        repeat {
            let reply = try await pool.send("SCAN", cursor, "MATCH", prefix + "*", "COUNT", 1000)
            let parts = reply.array ?? []
            cursor = parts.first?.string ?? "0"
            let keys = (parts.count > 1 ? parts[1].array ?? [] : []).compactMap(\.string)
            if !keys.isEmpty { try await pool.send(RedisCommand("DEL", keys)) }
        } while cursor != "0"
    }

    /// This process's user and system CPU time so far.
    private func processCPUMilliseconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func millis(_ time: timeval) -> Double { Double(time.tv_sec) * 1000 + Double(time.tv_usec) / 1000 }
        return millis(usage.ru_utime) + millis(usage.ru_stime)
    }

    /// Microseconds Redis spent in commands since the last `CONFIG RESETSTAT` (INFO commandstats).
    private func commandMicroseconds(_ pool: RedisPool) async throws -> Double {
        let info = try await pool.send("INFO", "commandstats").string ?? ""
        return info.split(separator: "\r\n").reduce(0) { total, line in
            guard line.hasPrefix("cmdstat_"), let field = line.split(separator: ",").first(where: { $0.hasPrefix("usec=") }) else { return total }
            return total + (Double(field.dropFirst("usec=".count)) ?? 0)
        }
    }

    private func usedMemory(_ pool: RedisPool) async throws -> Int {
        let info = try await pool.send("INFO", "memory").string ?? ""
        return info.split(separator: "\r\n").first { $0.hasPrefix("used_memory:") }.flatMap { Int($0.dropFirst("used_memory:".count)) } ?? 0
    }
}
