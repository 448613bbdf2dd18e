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

/// Walks sorted sets of the projection in order, reading rows a chunk at a time with HMGET. Every
/// read after the first continues from the last record examined — its (score, member) position, as
/// the cursor does between pages — never from a rank: records added or closed meanwhile shift ranks,
/// and a rank would make a page repeat or skip one.
struct Walk: Sendable {
    let rows: String
    let reverse: Bool
    let matches: Conditions
    /// Score bounds (creation time, ms) of the sets walked; nil = unbounded.
    let low: Int64?
    let high: Int64?

    /// A position in a sorted set: its score as Redis wrote it, and the member (equal scores sort by member).
    private typealias Position = (score: String, member: String)

    func page(sets: [String], from cursor: DashboardCursor?, limit: Int, sort: DashboardFilter.Sort, query: DashboardQuery) async throws -> DashboardPage {
        var items: [DashboardItem] = []
        var scanned = 0
        let first = min(cursor?.segment ?? 0, sets.count)
        for segment in first..<sets.count {
            let key = sets[segment]
            var after: Position? = segment == first ? cursor.map { ($0.score, $0.member) } : nil
            // The first read asks for exactly what is missing; when filters drop rows, reads grow.
            var chunk = max(32, limit - items.count)
            while true {
                let range = try await query.send([read(key, after: after, count: chunk)])[0].array ?? []
                var fresh: [(member: [UInt8], score: [UInt8])] = []
                for index in stride(from: 0, to: range.count - 1, by: 2) {
                    let member = range[index].bytes ?? [], score = range[index + 1].bytes ?? []
                    if let after, isAtOrBefore(member: member, score: score, position: after) { continue }
                    fresh.append((member, score))
                }
                let exhausted = range.count / 2 < chunk
                guard !fresh.isEmpty else {
                    // Only records at the position's score that sort before it: read further, or stop at the end.
                    if exhausted { break }
                    chunk = min(64 * DashboardFilter.maximumLimit, chunk * 2)
                    continue
                }
                let rowValues = try await query.send([RedisCommand(argv: [Array("HMGET".utf8), Array(rows.utf8)] + fresh.map(\.member))])[0].array ?? []
                for (index, entry) in fresh.enumerated() {
                    let score = DashboardRow.number(entry.score[...]) ?? 0
                    if let high, !reverse, score > Double(high) { return DashboardPage(items: items, next: nil, scanned: scanned) }
                    if let low, reverse, score < Double(low) { return DashboardPage(items: items, next: nil, scanned: scanned) }
                    scanned += 1
                    let member = String(decoding: entry.member, as: UTF8.self)
                    if index < rowValues.count, case .bulkString(let row) = rowValues[index],
                       let item = DashboardItem(member: member, row: row), matches.accept(item) {
                        items.append(item)
                    }
                    if items.count >= limit || scanned >= DashboardQuery.budget {
                        let next = DashboardCursor(sort: sort, segment: segment, score: String(decoding: entry.score, as: UTF8.self), member: member)
                        return DashboardPage(items: items, next: next, scanned: scanned)
                    }
                }
                if exhausted { break }
                let last = fresh[fresh.count - 1]
                after = (String(decoding: last.score, as: UTF8.self), String(decoding: last.member, as: UTF8.self))
                chunk = min(4 * DashboardFilter.maximumLimit, chunk * 2)
            }
        }
        return DashboardPage(items: items, next: nil, scanned: scanned)
    }

    /// `count` members from `after` on (inclusive of its score: equal scores are told apart by member),
    /// or from the sets' bound when there is no position yet.
    private func read(_ key: String, after: Position?, count: Int) -> RedisCommand {
        if reverse {
            let from = after?.score ?? high.map(String.init) ?? "+inf"
            return RedisCommand("ZRANGE", [key, from, "-inf", "BYSCORE", "REV", "LIMIT", 0, count, "WITHSCORES"])
        }
        let from = after?.score ?? low.map(String.init) ?? "-inf"
        return RedisCommand("ZRANGE", [key, from, "+inf", "BYSCORE", "LIMIT", 0, count, "WITHSCORES"])
    }

    /// Whether a member read from `position`'s score on comes at or before the position in walk order.
    private func isAtOrBefore(member: [UInt8], score: [UInt8], position: Position) -> Bool {
        guard let value = DashboardRow.number(score[...]), let at = Double(position.score), value == at else { return false }
        // Redis orders equal scores by the members' bytes.
        let positionMember = Array(position.member.utf8)
        return reverse ? !member.lexicographicallyPrecedes(positionMember) : !positionMember.lexicographicallyPrecedes(member)
    }
}
