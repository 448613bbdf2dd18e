/// The type versions after 1 (contracts/v1/<type>.v<N>.schema.json), with the steps between versions
/// that a rolling upgrade needs: readers upcast what older writers send; writers downcast what they
/// emit to the version the oldest running reader understands (see `EmitVersions`).
extension MessageCatalog {
    /// Every type this build reads, each at its newest version (`v1` is build N's catalog: every type
    /// at version 1). Older payloads are upcast on reading.
    public static let current = v1.merging(MessageCatalog([
        Entry(type: MessageType.interactionLogged, kind: .event, currentVersion: 2, upcasters: [1: InteractionLoggedVersions.upcast]),
    ]))

    /// `downcasters[type][v]` turns a version-`v` payload into version `v - 1`, so a writer can still
    /// emit what readers of the previous build understand.
    public static let downcasters: [String: [Int: Upcaster]] = [
        MessageType.interactionLogged: [2: InteractionLoggedVersions.downcast],
    ]
}

/// interaction.logged version 2 splits v1's `subject` ("lead:L-1001") into `subjectEntity` ("lead")
/// and `subjectId` ("L-1001"): readers no longer parse a compound string.
public enum InteractionLoggedVersions {
    /// v1 → v2. A v1 `subject` without a ':' is left in place, so the v2 reader rejects the payload
    /// naming the field rather than guessing.
    @Sendable public static func upcast(_ payload: JSONValue) -> JSONValue {
        guard case .object(var fields) = payload, let subject = fields["subject"]?.stringValue,
              let colon = subject.firstIndex(of: ":") else { return payload }
        fields["subject"] = nil
        fields["subjectEntity"] = .string(String(subject[..<colon]))
        fields["subjectId"] = .string(String(subject[subject.index(after: colon)...]))
        return .object(fields)
    }

    /// v2 → v1: the two fields joined again as `<entity>:<id>`.
    @Sendable public static func downcast(_ payload: JSONValue) -> JSONValue {
        guard case .object(var fields) = payload, let entity = fields["subjectEntity"]?.stringValue,
              let id = fields["subjectId"]?.stringValue else { return payload }
        fields["subjectEntity"] = nil
        fields["subjectId"] = nil
        fields["subject"] = .string("\(entity):\(id)")
        return .object(fields)
    }
}
