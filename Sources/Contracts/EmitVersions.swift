import Foundation

/// Which version of each message type a writer emits during a rolling upgrade.
///
/// A type with a newer version is emitted at the previous one until the operator says otherwise
/// (`CRM_EMIT_VERSIONS=interaction.logged=2`), because readers of the previous build are still
/// running and would refuse the newer version (`unsupported_version`). Code always builds the
/// newest version; `shape` downcasts it just before it is written.
public struct EmitVersions: Sendable, Equatable {
    /// The versions chosen explicitly, by type.
    public let chosen: [String: Int]

    /// The defaults: every type at the version readers of the previous build understand.
    public init() { chosen = [:] }

    /// Parses `type=version[,type=version...]` (white space around items is ignored; empty = defaults).
    public init(parsing text: String, catalog: MessageCatalog = .current) throws(EmitVersionsError) {
        var chosen: [String: Int] = [:]
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            let parts = item.split(separator: "=", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2, let version = Int(parts[1]) else { throw EmitVersionsError(code: "malformed", item: item, reason: "must be <type>=<version>, e.g. interaction.logged=2") }
            let type = parts[0]
            guard let entry = catalog.entry(for: type) else { throw EmitVersionsError(code: "unknown_type", item: item, reason: "'\(type)' is not a message type of this build") }
            let range = Self.emittable(entry)
            guard range.contains(version) else {
                throw EmitVersionsError(code: "unsupported_version", item: item, reason: "\(type) can be emitted at versions \(range.lowerBound)…\(range.upperBound), not \(version)")
            }
            guard chosen.updateValue(version, forKey: type) == nil else { throw EmitVersionsError(code: "duplicate", item: item, reason: "'\(type)' is named twice") }
        }
        self.chosen = chosen
    }

    /// The version of `type` this writer emits.
    public func version(of type: String, catalog: MessageCatalog = .current) -> Int {
        if let version = chosen[type] { return version }
        guard let entry = catalog.entry(for: type) else { return 1 }
        return Self.emittable(entry).lowerBound == entry.currentVersion ? entry.currentVersion : entry.currentVersion - 1
    }

    /// The envelope at the version this writer emits: downcast step by step when it is newer.
    public func shape(_ envelope: Envelope) -> Envelope {
        let target = version(of: envelope.type)
        guard envelope.version > target, let steps = MessageCatalog.downcasters[envelope.type] else { return envelope }
        var shaped = envelope
        while shaped.version > target, let step = steps[shaped.version] {
            shaped.payload = step(shaped.payload)
            shaped.version -= 1
        }
        return shaped
    }

    /// The versions a writer can produce: the current one and those the downcasters reach.
    static func emittable(_ entry: MessageCatalog.Entry) -> ClosedRange<Int> {
        var oldest = entry.currentVersion
        while MessageCatalog.downcasters[entry.type]?[oldest] != nil, oldest > 1 { oldest -= 1 }
        return oldest...entry.currentVersion
    }
}

/// A bad `CRM_EMIT_VERSIONS` item: its code (`malformed`, `unknown_type`, `unsupported_version`,
/// `duplicate`), the item at fault and why.
public struct EmitVersionsError: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: String
    public let item: String
    public let reason: String

    public var description: String { "CRM_EMIT_VERSIONS item '\(item)' \(reason) (\(code))" }
}
