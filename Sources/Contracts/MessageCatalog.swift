/// Which message types and versions a reader knows, and how older versions are upcast to the current one.
public struct MessageCatalog: Sendable {
    public typealias Upcaster = @Sendable (JSONValue) -> JSONValue

    public struct Entry: Sendable {
        public let type: String
        public let kind: MessageKind
        public let currentVersion: Int
        /// `upcasters[v]` turns a version-`v` payload into version `v + 1`.
        public let upcasters: [Int: Upcaster]

        public init(type: String, kind: MessageKind, currentVersion: Int = 1, upcasters: [Int: Upcaster] = [:]) {
            self.type = type
            self.kind = kind
            self.currentVersion = currentVersion
            self.upcasters = upcasters
        }

        var oldestVersion: Int {
            var version = currentVersion
            while upcasters[version - 1] != nil { version -= 1 }
            return version
        }
    }

    public private(set) var entries: [String: Entry] = [:]

    public init(_ entries: [Entry] = []) {
        for entry in entries { self.entries[entry.type] = entry }
    }

    public func entry(for type: String) -> Entry? { entries[type] }

    public func merging(_ other: MessageCatalog) -> MessageCatalog {
        var merged = self
        for (type, entry) in other.entries { merged.entries[type] = entry }
        return merged
    }

    /// Whether the catalog has an entry for `type`.
    public func knows(_ type: String) -> Bool { entries[type] != nil }

    /// The entries of one kind (every event type, say).
    public func only(_ kind: MessageKind) -> MessageCatalog {
        MessageCatalog(entries.values.filter { $0.kind == kind })
    }

    public func restricted(to types: Set<String>) -> MessageCatalog {
        MessageCatalog(entries.values.filter { types.contains($0.type) })
    }

    /// Checks the type and version, and upcasts an older payload to the current version.
    public func accept(_ envelope: Envelope, consumer: String) throws(EnvelopeError) -> Envelope {
        guard let entry = entries[envelope.type] else { throw .unknownType(type: envelope.type, consumer: consumer) }
        guard envelope.kind == entry.kind else {
            throw .wrongStream(detail: "\(envelope.type) is a \(entry.kind.rawValue), but the envelope says kind '\(envelope.kind.rawValue)'")
        }
        guard envelope.version >= entry.oldestVersion, envelope.version <= entry.currentVersion else {
            throw .unsupportedVersion(type: envelope.type, version: envelope.version, supported: entry.oldestVersion...entry.currentVersion)
        }
        var upcast = envelope
        while upcast.version < entry.currentVersion, let step = entry.upcasters[upcast.version] {
            upcast.payload = step(upcast.payload)
            upcast.version += 1
        }
        return upcast
    }
}

extension MessageCatalog {
    /// Every type of contracts/v1 this build knows.
    public static let v1 = MessageCatalog(
        (MessageType.commands + MessageType.assignmentCommands + MessageType.flowCommands + MessageType.integrationCommands).map { Entry(type: $0, kind: .command) }
            + (MessageType.events + MessageType.assignmentEvents + MessageType.flowEvents + MessageType.integrationEvents).map { Entry(type: $0, kind: .event) }
    )
}

/// The type names of contracts/v1.
public enum MessageType {
    public static let definitionPublish = "definition.publish"
    public static let leadCreate = "lead.create"
    public static let definitionPublished = "definition.published"
    public static let leadCreated = "lead.created"
    public static let commandAccepted = "command.accepted"
    public static let commandRejected = "command.rejected"

    public static let leadUpdate = "lead.update"
    public static let leadApply = "lead.apply"
    public static let leadUpdated = "lead.updated"
    public static let leadStageChanged = "lead.stage_changed"

    public static let directoryPutUser = "directory.put_user"
    public static let directoryUserUpdated = "directory.user_updated"

    public static let opportunityCreate = "opportunity.create"
    public static let opportunityUpdate = "opportunity.update"
    public static let opportunityApply = "opportunity.apply"
    public static let opportunityCreated = "opportunity.created"
    public static let opportunityUpdated = "opportunity.updated"
    public static let opportunityStageChanged = "opportunity.stage_changed"

    public static let interactionLog = "interaction.log"
    public static let interactionLogged = "interaction.logged"
    public static let fieldsConfigure = "fields.configure"
    public static let fieldsConfigured = "fields.configured"
    public static let contactAdd = "contact.add"
    public static let contactUpdate = "contact.update"
    public static let contactAdded = "contact.added"
    public static let contactUpdated = "contact.updated"
    public static let leadConverted = "lead.converted"

    public static let timerSchedule = "timer.schedule"
    public static let timerCancel = "timer.cancel"
    public static let timerFired = "timer.fired"
    public static let slaStarted = "sla.started"
    public static let slaAtRisk = "sla.at_risk"
    public static let slaBreached = "sla.breached"
    public static let slaMet = "sla.met"
    public static let slaPaused = "sla.paused"
    public static let slaResumed = "sla.resumed"
    public static let recordEscalated = "record.escalated"
    /// sla-timer-service's own commands and events.
    public static let slaCommands = [timerSchedule, timerCancel]
    public static let slaEvents = [timerFired, slaStarted, slaAtRisk, slaBreached, slaMet, slaPaused, slaResumed, recordEscalated]

    public static let commands = [definitionPublish, leadCreate, leadUpdate, leadApply, opportunityCreate, opportunityUpdate, opportunityApply,
                                  contactAdd, contactUpdate, fieldsConfigure, interactionLog, directoryPutUser] + slaCommands
    public static let events = [definitionPublished, leadCreated, leadUpdated, leadStageChanged, leadConverted, opportunityCreated, opportunityUpdated,
                                opportunityStageChanged, contactAdded, contactUpdated, fieldsConfigured, interactionLogged, directoryUserUpdated, commandAccepted, commandRejected]
                                + slaEvents
}
