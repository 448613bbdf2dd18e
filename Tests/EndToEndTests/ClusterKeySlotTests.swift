import Contracts
import CrmRedis
import RedisClient
import Testing

/// On a Redis Cluster every Lua script and MULTI block must touch one slot. Each script is called
/// with keys of one shard only, all carrying the shard's hash tag `{sN}`; this checks that every
/// key family a script (or transaction) is given lands in the tag's slot, for many tenants and shard counts.
@Suite("cluster slots of script keys")
struct ClusterKeySlotTests {
    /// The keys each script receives, built as its call site builds them (CommitScript, TimerScripts,
    /// AuditChain, DeadLetterQueue, CallScripts, crmctl's DLQ replay transaction).
    static func scriptKeys(_ shard: ShardKeys, tenant: String) -> [String: [String]] {
        let command = "0190d8a2-0000-7000-8000-000000000001"
        let record = shard.record(tenant: tenant, entity: "lead", id: "L-1")
        return [
            "commit": [shard.idempotency(group: "pipeline", messageID: command), shard.events, shard.reply(commandID: command), shard.commands(.pipeline),
                       record, shard.definitions(tenant: tenant, entity: "lead"), shard.directory(tenant: tenant), shard.customFields(tenant: tenant, entity: "lead"),
                       shard.contactLinks(tenant: tenant, entity: "lead", id: "L-1"), shard.assignment(tenant: tenant, entity: "lead", id: "L-1"),
                       shard.queue(tenant: tenant, user: "u1"), shard.roundRobin(tenant: tenant, team: "sales"), shard.delegations(tenant: tenant),
                       shard.approval(tenant: tenant, id: "A-1"), shard.approvals(tenant: tenant, entity: "lead", id: "L-1"),
                       shard.commands(.assignment), shard.commands(.sla), shard.commands(.integration)],
            "timer commit": [shard.idempotency(group: "sla", messageID: command), shard.events, shard.reply(commandID: command), shard.commands(.sla),
                             shard.timersDue, shard.timersLeased, shard.timersData, shard.timersDone, shard.slaClocks],
            "timer claim": [shard.timersDue, shard.timersLeased, shard.timersData],
            "timer complete": [shard.events, shard.timersLeased, shard.timersData, shard.timersDone],
            "audit append": [shard.auditHead, shard.audit, shard.events, shard.idempotency(group: "audit", messageID: command),
                             shard.auditHistory(tenant: tenant, subject: AuditSubject(entity: "lead", id: "L-1"))],
            "dead letter": [shard.dlq, shard.commands(.pipeline), shard.events],
            "call accept": [shard.idempotency(group: "integration", messageID: command), shard.events, shard.reply(commandID: command),
                            shard.commands(.integration), shard.integrationCall(tenant: tenant, callID: "c-1"), shard.integrationDue],
            "call claim": [shard.integrationDue],
            "call finish": [shard.integrationCallPrefix + TimerMember.make(tenant: tenant, timerID: "c-1"), shard.integrationDue, shard.events, shard.dlq],
            "dlq replay (MULTI)": [shard.commands(.assignment), shard.dlq],
        ]
    }

    @Test("every script's keys share their shard's slot, for 1 to 1024 shards and tenants with braces, colons and unicode")
    func scriptKeysAreSingleSlot() {
        let tenants = ["acme", "t:1", "we{ird}", "}{", "über-gmbh", "x"] + (0..<200).map { "tenant-\($0)" }
        var checked = 0
        for shards in [1, 4, 16, 64, 1024] {
            let router = ShardRouter(shards: shards)
            for tenant in tenants {
                let shard = router.keys(forTenant: tenant)
                let slot = ClusterSlot.slot(of: shard.tag)
                for (script, keys) in Self.scriptKeys(shard, tenant: tenant) {
                    let stray = keys.filter { ClusterSlot.slot(of: $0) != slot }
                    #expect(stray.isEmpty, "\(script) for \(tenant) on \(shards) shards: \(stray) outside slot \(slot)")
                    checked += keys.count
                }
            }
        }
        #expect(checked > 50_000)
    }

    @Test("16 and 64 shards spread over the slot space (about evenly over 3 primaries with contiguous ranges)")
    func shardsSpread() {
        for shards in [16, 64] {
            let slots = (0..<shards).map { ClusterSlot.slot(of: ShardKeys(shard: $0).tag) }
            #expect(Set(slots).count == shards, "every shard has its own slot")
            let thirds = Dictionary(grouping: slots) { $0 * 3 / ClusterSlot.count }.mapValues(\.count)
            #expect(thirds.values.allSatisfy { $0 >= shards / 6 }, "\(shards) shards per third of the slots: \(thirds)")
        }
    }
}
