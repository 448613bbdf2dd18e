import Contracts
import CrmCore

/// What a record event means for time-driven rules: which record saw activity, and for a creation
/// or a stage change, the stage it left and the one it entered.
struct RecordActivity {
    let entity: EntityKind
    let recordID: String
    /// Set when the record changed stage (or was created, with no stage left).
    let move: (left: String?, entered: String?)?

    static func of(_ event: Envelope) -> RecordActivity? {
        let payload = event.payload
        func id(_ entity: EntityKind) -> String? { payload[entity == .lead ? "leadId" : "opportunityId"]?.stringValue }
        switch event.type {
        case MessageType.leadCreated, MessageType.opportunityCreated:
            let entity: EntityKind = event.type == MessageType.leadCreated ? .lead : .opportunity
            guard let recordID = id(entity), let stage = payload["stage"]?.stringValue else { return nil }
            return RecordActivity(entity: entity, recordID: recordID, move: (nil, stage))
        case MessageType.leadStageChanged, MessageType.opportunityStageChanged:
            let entity: EntityKind = event.type == MessageType.leadStageChanged ? .lead : .opportunity
            guard let recordID = id(entity) else { return nil }
            return RecordActivity(entity: entity, recordID: recordID, move: (payload["from"]?.stringValue, payload["to"]?.stringValue))
        case MessageType.leadUpdated, MessageType.opportunityUpdated:
            let entity: EntityKind = event.type == MessageType.leadUpdated ? .lead : .opportunity
            guard let recordID = id(entity) else { return nil }
            return RecordActivity(entity: entity, recordID: recordID, move: nil)
        case MessageType.interactionLogged:
            guard let subject = payload["subject"]?.stringValue else { return nil }
            let parts = subject.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, let entity = EntityKind(rawValue: parts[0]) else { return nil }
            return RecordActivity(entity: entity, recordID: parts[1], move: nil)
        default:
            return nil
        }
    }
}
