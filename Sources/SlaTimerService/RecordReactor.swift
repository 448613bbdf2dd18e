import Contracts
import CrmCore
import CrmRedis
import Foundation
import Logging
import RedisClient
import ServiceKit

/// Reacts to record events on `crm:{sN}:events`: SLA clocks and stale-record escalation, written
/// in one atomic commit per event with its idempotency mark and acknowledgement.
struct RecordReactor {
    let store: TimerStore
    let pool: RedisPool
    let group: String
    let policy: CommitPolicy
    let sla: SlaTracker
    let escalation = EscalationTracker()
    let definitions: PublishedDefinitions

    /// Handles one event; returns true when the commit acknowledged it, false when the event needs
    /// nothing (the runtime acknowledges it).
    func react(to message: InboundMessage) async throws -> Bool {
        let event = message.envelope
        guard let activity = RecordActivity.of(event) else { return false }
        // The record's definition version first: most definitions have neither SLA nor escalation,
        // and then the record itself need not be decoded.
        guard let stored = try await storedRecord(activity, tenant: event.tenant, shard: message.shard),
              case .integer(let version)? = try JSONValue.parse(stored)["definitionVersion"],
              let definition = try await definitions.definition(activity.entity, version: Int(version), tenant: event.tenant, shard: message.shard),
              !definition.sla.isEmpty || !definition.escalation.isEmpty else { return false }
        let record = try JSONDecoder().decode(PipelineRecord.self, from: Data(stored))
        guard let at = TimerDue.instant(event.occurredAt) else { return false }
        let slaChanges = try await sla.changes(for: activity, definition: definition, record: record, event: event, shard: message.shard, at: at)
        let operations = slaChanges.operations + escalation.changes(for: activity, definition: definition, record: record, event: event, at: at)
        guard !operations.isEmpty || !slaChanges.events.isEmpty || !slaChanges.clocks.isEmpty else { return false }
        let result = try await store.commit(shard: message.shard, messageID: event.id, group: group, operations: operations, clocks: slaChanges.clocks,
                                            events: slaChanges.events, outcome: nil, acknowledging: (message.stream, message.entryID), now: at, policy: policy)
        if case .conflict(let member) = result {
            // Only cancelIfActive and put are used here, which have no precondition.
            throw RedisError.unexpectedReply(command: "record reaction commit", expected: "no conflict", got: member)
        }
        return true
    }

    private func storedRecord(_ activity: RecordActivity, tenant: String, shard: ShardKeys) async throws -> [UInt8]? {
        try await pool.send("HGET", shard.record(tenant: tenant, entity: activity.entity.rawValue, id: activity.recordID), "d").bytes
    }
}
