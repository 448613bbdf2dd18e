import Contracts
import CrmCore
import CrmKit
import CrmRedis

/// A user's queue as assignment-service keeps it (not a scan), each record with its current stage,
/// sorted by subject, a page at a time. Serves `GET …/users/{user}/queue` and the dashboard page.
struct QueueQuery: Sendable {
    let client: CrmClient
    let store: CrmStore

    struct Item: Sendable {
        let subject: String
        let assignedAt: String
        let open: Bool
        let record: JSONValue?

        var entity: String { String(subject.split(separator: ":", maxSplits: 1).first ?? "") }
        var id: String { String(subject.split(separator: ":", maxSplits: 1).last ?? "") }
        var stage: JSONValue { record?["stage"] ?? .null }
    }

    struct Page: Sendable {
        let user: String
        let openCount: Int
        let items: [Item]
        let next: String?

        var json: JSONValue {
            let items: [JSONValue] = items.map { ["subject": .string($0.subject), "assignedAt": .string($0.assignedAt), "open": .bool($0.open), "stage": $0.stage] }
            var body: [String: JSONValue] = ["user": .string(user), "open": .integer(Int64(openCount)), "items": .array(items)]
            if let next { body["next"] = .string(next) }
            return .object(body)
        }
    }

    func page(tenant: String, user: String, onlyOpen: Bool?, limit: Int, after: String) async throws -> Page {
        let shard = client.router.keys(forTenant: tenant)
        let fields = try await store.hash(shard.queue(tenant: tenant, user: user))
        var entries = fields.filter { $0.key.hasPrefix("r:") && !$0.value.isEmpty }
            .compactMap { try? CrmStore.decode(QueueEntry.self, $0.value) }
            .filter { onlyOpen == nil || $0.open == onlyOpen }
            .sorted { $0.subject < $1.subject }
        if !after.isEmpty { entries = entries.filter { $0.subject > after } }
        let page = Array(entries.prefix(limit))
        let reads = page.map { entry -> HashRead in
            let parts = entry.subject.split(separator: ":", maxSplits: 1).map(String.init)
            return HashRead(shard.record(tenant: tenant, entity: parts.first ?? "", id: parts.last ?? ""), ["d"])
        }
        let records = try await store.fields(reads)
        let items = zip(page, records).map { entry, read in
            Item(subject: entry.subject, assignedAt: entry.assignedAt, open: entry.open, record: read[0].flatMap { try? JSONValue.parse($0) })
        }
        return Page(user: user, openCount: CrmStore.integer(fields["n"]), items: items,
                    next: entries.count > limit ? page.last?.subject : nil)
    }
}
