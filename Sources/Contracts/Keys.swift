/// The command streams, one per consuming service.
public enum CommandStream: String, Sendable, CaseIterable {
    case pipeline, assignment, sla, integration
}

/// Every stream and key name of one shard, in one place. Each carries the hash tag `{sN}` so a
/// Redis Cluster keeps a shard's keys in one slot and Lua scripts stay single-slot.
public struct ShardKeys: Sendable, Hashable {
    public let shard: Int
    public let tag: String

    public init(shard: Int) {
        self.shard = shard
        self.tag = "{s\(shard)}"
    }

    public func commands(_ stream: CommandStream) -> String { "crm:\(tag):cmd:\(stream.rawValue)" }
    public var events: String { "crm:\(tag):events" }
    public var audit: String { "crm:\(tag):audit" }
    public var dlq: String { "crm:\(tag):dlq" }
    /// The list a command's outcome is pushed to (expires after five minutes).
    public func reply(commandID: String) -> String { "crm:\(tag):reply:\(commandID)" }
    /// A consumer group's idempotency mark for one message id: holds the first outcome.
    public func idempotency(group: String, messageID: String) -> String { "crm:\(tag):idem:\(group):\(messageID)" }
    /// The head of the audit hash chain: `seq` and `hash` of the last entry.
    public var auditHead: String { "crm:\(tag):audit:head" }
    /// Prefix of everything one tenant owns on this shard.
    public func tenant(_ tenant: String) -> String { "crm:\(tag):t:\(tenant)" }
    /// A hash of a tenant's definitions for one entity: `latest` and one field per version.
    public func definitions(tenant: String, entity: String) -> String { "\(self.tenant(tenant)):def:\(entity)" }
    /// A tenant's directory of users: a hash with its version `v` and one `u:<user id>` JSON per user.
    public func directory(tenant: String) -> String { "\(self.tenant(tenant)):directory" }
    /// A tenant's custom fields for an entity: a hash with `v` and the JSON document `d`.
    public func customFields(tenant: String, entity: String) -> String { "\(self.tenant(tenant)):fields:\(entity)" }
    /// The contacts linked to a record (`lead`/`opportunity` + id): a hash with one `c:<contact id>` field each.
    public func contactLinks(tenant: String, entity: String, id: String) -> String { "\(self.tenant(tenant)):links:\(entity):\(id)" }
    /// Who a record is assigned to: a hash with `v` and the JSON document `d` (assignment-service).
    public func assignment(tenant: String, entity: String, id: String) -> String { "\(self.tenant(tenant)):assignee:\(entity):\(id)" }
    /// A user's queue: `v`, `n` (open records assigned) and one `r:<entity>:<id>` JSON per record.
    public func queue(tenant: String, user: String) -> String { "\(self.tenant(tenant)):queue:\(user)" }
    /// A team's round-robin turn: `v` and the cursor `c`.
    public func roundRobin(tenant: String, team: String) -> String { "\(self.tenant(tenant)):rr:\(team)" }
    /// A tenant's delegations: `v` and one `g:<delegation id>` JSON each.
    public func delegations(tenant: String) -> String { "\(self.tenant(tenant)):delegations" }
    /// An approval: `v` and the JSON document `d` with its votes.
    public func approval(tenant: String, id: String) -> String { "\(self.tenant(tenant)):approval:\(id)" }
    /// A record's approvals by action: `v` and `a:<action>` = `approved`, `rejected` or `pending`.
    public func approvals(tenant: String, entity: String, id: String) -> String { "\(self.tenant(tenant)):approvals:\(entity):\(id)" }
    /// A record: a hash with its version `v` and JSON document `d`.
    public func record(tenant: String, entity: String, id: String) -> String { "\(self.tenant(tenant)):\(entity):\(id)" }
}

/// Keys outside any shard: service health and metrics, written with a TTL.
public enum ServiceKeys {
    public static func health(service: String, consumer: String) -> String { "crm:health:\(service):\(consumer)" }
    public static func metrics(service: String, consumer: String) -> String { "crm:metrics:\(service):\(consumer)" }
}
