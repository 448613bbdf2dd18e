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
            // Version 2 (v1 is upcast on reading): the record as subjectEntity and subjectId.
            guard let entity = payload["subjectEntity"]?.stringValue.flatMap(EntityKind.init(rawValue:)),
                  let recordID = payload["subjectId"]?.stringValue else { return nil }
            return RecordActivity(entity: entity, recordID: recordID, move: nil)
        default:
            return nil
        }
    }
}
