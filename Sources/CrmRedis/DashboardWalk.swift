import Contracts
import RedisClient

/// The conditions a pending record's row must meet (the driving set already meets some of them).
struct Conditions: Sendable {
    let kind: String?
    let stage: String?
    let owner: String?
    let team: String?
    let sla: [String]
    let pendingApproval: Bool?
    let createdFrom: Int64?
    let createdTo: Int64?

    func accept(_ item: DashboardItem) -> Bool {
        if let kind, item.kind != kind { return false }
        if let stage, item.stage != stage { return false }
        if let owner, item.owner != owner { return false }
        if let team, item.team != team { return false }
        if !sla.isEmpty, !sla.contains(item.sla ?? "none") { return false }
        if let pendingApproval, (item.pendingApprovals > 0) != pendingApproval { return false }
        if let createdFrom, item.createdAt < createdFrom { return false }
        if let createdTo, item.createdAt > createdTo { return false }
        return true
    }
}

/// Walks sorted sets of the projection in order (by rank, so a page costs O(log n + page) in Redis
/// however many records precede it), reading rows a chunk at a time with HMGET, from a cursor that
/// names the last record returned: records inserted meanwhile shift ranks but never make a page
/// repeat or skip one.
struct Walk: Sendable {
    let rows: String
    let reverse: Bool
    let matches: Conditions
    /// Score bounds (creation time, ms) of the sets walked; nil = unbounded.
    let low: Int64?
    let high: Int64?

    func page(sets: [String], from cursor: DashboardCursor?, limit: Int, sort: DashboardFilter.Sort, query: DashboardQuery) async throws -> DashboardPage {
        var items: [DashboardItem] = []
        var scanned = 0
        let first = min(cursor?.segment ?? 0, sets.count)
        for segment in first..<sets.count {
            let key = sets[segment]
            var (rank, skipAfter) = try await start(key, cursor: segment == first ? cursor : nil, query: query)
            // The first read asks for exactly what is missing; when filters drop rows, reads grow.
            var chunk = max(32, limit - items.count)
            while true {
                let range = try await query.send([RedisCommand(reverse ? "ZREVRANGE" : "ZRANGE", [key, rank, rank + chunk - 1, "WITHSCORES"])])[0].array ?? []
                guard !range.isEmpty else { break }
                rank += range.count / 2
                chunk = min(4 * DashboardFilter.maximumLimit, chunk * 2)
                let members = stride(from: 0, to: range.count, by: 2).map { range[$0].bytes ?? [] }
                let rowValues = try await query.send([RedisCommand(argv: [Array("HMGET".utf8), Array(rows.utf8)] + members)])[0].array ?? []
                for (index, member) in members.enumerated() {
                    let scoreBytes = range[2 * index + 1].bytes ?? []
                    let score = DashboardRow.number(scoreBytes[...]) ?? 0
                    if let high, !reverse, score > Double(high) { return DashboardPage(items: items, next: nil, scanned: scanned) }
                    if let low, reverse, score < Double(low) { return DashboardPage(items: items, next: nil, scanned: scanned) }
                    if let after = skipAfter {
                        let name = String(decoding: member, as: UTF8.self)
                        if score == after.score, reverse ? name >= after.member : name <= after.member { continue }
                        skipAfter = nil
                    }
                    scanned += 1
                    if index < rowValues.count, case .bulkString(let row) = rowValues[index],
                       let item = DashboardItem(member: String(decoding: member, as: UTF8.self), row: row), matches.accept(item) {
                        items.append(item)
                    }
                    if items.count >= limit || scanned >= DashboardQuery.budget {
                        let next = DashboardCursor(sort: sort, segment: segment, score: String(decoding: scoreBytes, as: UTF8.self),
                                                   member: String(decoding: member, as: UTF8.self))
                        return DashboardPage(items: items, next: next, scanned: scanned)
                    }
                }
            }
        }
        return DashboardPage(items: items, next: nil, scanned: scanned)
    }

    /// The rank to start at in `key`, and (when the cursor's record left the set) the position to skip past.
    private func start(_ key: String, cursor: DashboardCursor?, query: DashboardQuery) async throws -> (Int, (score: Double, member: String)?) {
        if let cursor {
            let cursorScore = Double(cursor.score) ?? 0
            let replies = try await query.send([
                RedisCommand("ZSCORE", [key, cursor.member]),
                RedisCommand(reverse ? "ZREVRANK" : "ZRANK", [key, cursor.member]),
                reverse ? RedisCommand("ZCOUNT", [key, "(\(cursor.score)", "+inf"]) : RedisCommand("ZCOUNT", [key, "-inf", "(\(cursor.score)"]),
            ])
            if let score = replies[0].string.flatMap(Double.init), score == cursorScore, let rank = replies[1].integer {
                return (Int(rank) + 1, nil)
            }
            // The cursor's record left this set meanwhile: start at its score, past what sorted before it.
            return (Int(replies[2].integer ?? 0), (cursorScore, cursor.member))
        }
        if reverse, let high {
            return (Int(try await query.send([RedisCommand("ZCOUNT", [key, "(\(high)", "+inf"])])[0].integer ?? 0), nil)
        }
        if !reverse, let low {
            return (Int(try await query.send([RedisCommand("ZCOUNT", [key, "-inf", "(\(low)"])])[0].integer ?? 0), nil)
        }
        return (0, nil)
    }
}
