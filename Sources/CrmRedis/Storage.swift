public import Contracts
public import CrmCore
import Foundation
import Synchronization
public import RedisClient

/// Reads and encodes the tenant data the pipeline keeps: definitions (one hash per entity with `v` =
/// latest version and `d:<n>` = version n) and records (one hash each with `v` and the document `d`),
/// on Redis for the services or on any other `CrmStorage` for the Level 1 API in-process.
public struct CrmStore: Sendable {
    public let storage: any CrmStorage
    private let cache: DefinitionCache
    /// The registered Swift conditions and hooks stored definitions may name.
    public let registry: ExtensionRegistry

    public init(storage: any CrmStorage, cache: DefinitionCache = DefinitionCache(), registry: ExtensionRegistry = .empty) {
        self.storage = storage
        self.cache = cache
        self.registry = registry
    }

    public init(pool: RedisPool, cache: DefinitionCache = DefinitionCache(), registry: ExtensionRegistry = .empty) {
        self.init(storage: RedisCrmStorage(pool: pool), cache: cache, registry: registry)
    }

    /// What deciding a `lead.create` or `opportunity.create` needs, read in one round trip (plus one more
    /// the first time a definition version is seen): the record if it exists, else the definition it
    /// would start on and the tenant's custom fields.
    public func creationContext(shard: ShardKeys, tenant: String, entity: EntityKind, id: String,
                                definitionVersion: Int?) async throws -> (PipelineRecord?, CompiledDefinition?, CustomFields) {
        let replies = try await storage.read([
            HashRead(shard.record(tenant: tenant, entity: entity.rawValue, id: id), ["d"]),
            HashRead(shard.definitions(tenant: tenant, entity: entity.rawValue), ["v"]),
            HashRead(shard.customFields(tenant: tenant, entity: entity.rawValue), ["d"]),
        ])
        if let bytes = replies[0][0] { return (try Self.decoder.decode(PipelineRecord.self, from: Data(bytes)), nil, .none) }
        let custom = try replies[2][0].map { try Self.decoder.decode(CustomFields.self, from: Data($0)) } ?? .none
        let latest = Self.integer(replies[1][0])
        let wanted = definitionVersion ?? latest
        guard wanted >= 1, wanted <= latest else { return (nil, nil, custom) }
        return (nil, try await definition(shard: shard, tenant: tenant, entity: entity, version: wanted), custom)
    }

    /// A record and the tenant's custom fields for its entity, in one round trip.
    public func recordWithCustomFields(shard: ShardKeys, tenant: String, entity: EntityKind, id: String) async throws -> (PipelineRecord?, CustomFields) {
        let replies = try await storage.read([
            HashRead(shard.record(tenant: tenant, entity: entity.rawValue, id: id), ["d"]),
            HashRead(shard.customFields(tenant: tenant, entity: entity.rawValue), ["d"]),
        ])
        let record = try replies[0][0].map { try Self.decoder.decode(PipelineRecord.self, from: Data($0)) }
        let custom = try replies[1][0].map { try Self.decoder.decode(CustomFields.self, from: Data($0)) } ?? .none
        return (record, custom)
    }

    /// The latest version number of a tenant's definition for `entity` (0 when none was published).
    public func latestDefinitionVersion(shard: ShardKeys, tenant: String, entity: EntityKind) async throws -> Int {
        Self.integer(try await storage.field(shard.definitions(tenant: tenant, entity: entity.rawValue), "v"))
    }

    /// A compiled definition by version (nil = latest); nil when there is none.
    public func definition(shard: ShardKeys, tenant: String, entity: EntityKind, version: Int?) async throws -> CompiledDefinition? {
        let key = shard.definitions(tenant: tenant, entity: entity.rawValue)
        let wanted: Int
        if let version {
            wanted = version
        } else {
            wanted = Self.integer(try await storage.field(key, "v"))
        }
        guard wanted > 0 else { return nil }
        let cacheKey = "\(key)|\(wanted)"
        if let known = cache[cacheKey] { return known }
        guard let bytes = try await storage.field(key, "d:\(wanted)") else { return nil }
        let source = try Self.decoder.decode(PipelineDefinition.self, from: Data(bytes))
        // Stored definitions passed compilation when published; one that no longer does names a Swift
        // extension this process has not registered: refuse the command rather than retry it forever.
        let compiled: CompiledDefinition
        do {
            compiled = try CompiledDefinition.compile(source, version: wanted, registry: registry)
        } catch {
            throw Rejection(.internal, "\(entity.rawValue) definition version \(wanted) of tenant '\(tenant)' does not compile in this service (\(error)); is a registered condition or hook missing here?")
        }
        cache[cacheKey] = compiled
        return compiled
    }

    public func record(shard: ShardKeys, tenant: String, entity: EntityKind, id: String) async throws -> PipelineRecord? {
        guard let bytes = try await storage.field(shard.record(tenant: tenant, entity: entity.rawValue, id: id), "d") else { return nil }
        return try Self.decoder.decode(PipelineRecord.self, from: Data(bytes))
    }

    /// The actor's directory entry, whether the tenant has a directory at all, and the directory's version.
    public func directory(shard: ShardKeys, tenant: String, user: String) async throws -> (exists: Bool, user: DirectoryUser?, version: Int) {
        let parts = try await storage.read([HashRead(shard.directory(tenant: tenant), ["v", "u:\(user)"])])[0]
        let version = Self.integer(parts[0])
        let entry = try parts[1].map { try Self.decoder.decode(DirectoryUser.self, from: Data($0)) }
        return (version > 0, entry, version)
    }

    public static func directoryWrite(shard: ShardKeys, tenant: String, user: DirectoryUser, currentVersion: Int) -> RecordWrite {
        RecordWrite(key: shard.directory(tenant: tenant), expectedVersion: currentVersion, newVersion: currentVersion + 1,
                    fields: [("u:\(user.userId)", encode(user))])
    }

    public static func definitionWrite(shard: ShardKeys, tenant: String, definition: CompiledDefinition) -> RecordWrite {
        RecordWrite(key: shard.definitions(tenant: tenant, entity: definition.source.entity.rawValue),
                    expectedVersion: definition.version - 1, newVersion: definition.version,
                    fields: [("d:\(definition.version)", encode(definition.source))])
    }

    /// A tenant's custom fields for an entity and their version (0 when never configured).
    public func customFields(shard: ShardKeys, tenant: String, entity: EntityKind) async throws -> (CustomFields, version: Int) {
        let parts = try await storage.read([HashRead(shard.customFields(tenant: tenant, entity: entity.rawValue), ["v", "d"])])[0]
        let version = Self.integer(parts[0])
        guard let bytes = parts[1] else { return (.none, version) }
        return (try Self.decoder.decode(CustomFields.self, from: Data(bytes)), version)
    }

    public static func customFieldsWrite(shard: ShardKeys, tenant: String, entity: EntityKind, fields: CustomFields, currentVersion: Int) -> RecordWrite {
        RecordWrite(key: shard.customFields(tenant: tenant, entity: entity.rawValue), expectedVersion: currentVersion, newVersion: currentVersion + 1,
                    fields: [("d", encode(fields))])
    }

    /// An interaction as logged.
    public func interaction(shard: ShardKeys, tenant: String, id: String) async throws -> Interaction? {
        guard let bytes = try await storage.field(shard.record(tenant: tenant, entity: "interaction", id: id), "d") else { return nil }
        return try Self.decoder.decode(Interaction.self, from: Data(bytes))
    }

    /// Whether a record (`lead`, `opportunity`, `contact`) exists for the tenant.
    public func exists(shard: ShardKeys, tenant: String, entity: String, id: String) async throws -> Bool {
        // Every record hash carries its version `v`.
        try await storage.field(shard.record(tenant: tenant, entity: entity, id: id), "v") != nil
    }

    public static func interactionWrite(shard: ShardKeys, tenant: String, interaction: Interaction) -> RecordWrite {
        RecordWrite(key: shard.record(tenant: tenant, entity: "interaction", id: interaction.id), expectedVersion: 0, newVersion: 1,
                    fields: [("d", encode(interaction))])
    }

    /// An attachment's bytes, stored once per tenant under their SHA-256 (the same file twice is one blob).
    public static func blobWrite(shard: ShardKeys, tenant: String, sha256: String, bytes: [UInt8]) -> RecordWrite {
        RecordWrite(key: shard.record(tenant: tenant, entity: "blob", id: sha256), expectedVersion: nil, newVersion: 1, fields: [("d", bytes)])
    }

    /// Reads an attachment back, checking its bytes against the checksum it is stored under.
    public func blob(shard: ShardKeys, tenant: String, sha256: String) async throws -> [UInt8]? {
        guard let bytes = try await storage.field(shard.record(tenant: tenant, entity: "blob", id: sha256), "d") else { return nil }
        guard Checksum.sha256(bytes) == sha256 else { throw CorruptedData(key: "blob \(sha256) of tenant '\(tenant)'") }
        return bytes
    }

    public func contact(shard: ShardKeys, tenant: String, id: String) async throws -> ContactRecord? {
        guard let bytes = try await storage.field(shard.record(tenant: tenant, entity: "contact", id: id), "d") else { return nil }
        return try Self.decoder.decode(ContactRecord.self, from: Data(bytes))
    }

    /// Adds a contact to the index of each record it links to (`lead:<id>`), read by `linkedContacts`.
    public static func contactLinkWrites(shard: ShardKeys, tenant: String, contactID: String, links: [String]) -> [RecordWrite] {
        links.compactMap { link in
            let parts = link.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { return nil }
            // An index, not a record: any version may be there, and the field is set whatever it held.
            return RecordWrite(key: shard.contactLinks(tenant: tenant, entity: parts[0], id: parts[1]), expectedVersion: nil, newVersion: 1,
                               fields: [("c:\(contactID)", Array("1".utf8))])
        }
    }

    /// The ids of the contacts linked to a record, sorted.
    public func linkedContacts(shard: ShardKeys, tenant: String, entity: String, id: String) async throws -> [String] {
        try await storage.readAll(shard.contactLinks(tenant: tenant, entity: entity, id: id))
            .compactMap { $0.field.hasPrefix("c:") ? String($0.field.dropFirst(2)) : nil }.sorted()
    }

    /// A contact and the actor's directory entry, in one round trip.
    public func contactAndActor(shard: ShardKeys, tenant: String, id: String, actor: String) async throws -> (ContactRecord?, directoryExists: Bool, user: DirectoryUser?) {
        let replies = try await storage.read([
            HashRead(shard.record(tenant: tenant, entity: "contact", id: id), ["d"]),
            HashRead(shard.directory(tenant: tenant), ["v", "u:\(actor)"]),
        ])
        let contact = try replies[0][0].map { try Self.decoder.decode(ContactRecord.self, from: Data($0)) }
        let user = try replies[1][1].map { try Self.decoder.decode(DirectoryUser.self, from: Data($0)) }
        return (contact, Self.integer(replies[1][0]) > 0, user)
    }

    public static func contactWrite(shard: ShardKeys, tenant: String, contact: ContactRecord) -> RecordWrite {
        RecordWrite(key: shard.record(tenant: tenant, entity: "contact", id: contact.id),
                    expectedVersion: contact.version - 1, newVersion: contact.version, fields: [("d", encode(contact))])
    }

    /// A lead or opportunity written at its new version, with its dashboard row (stage, open or closed
    /// by the definition's terminal stages, creation time) in the same commit.
    public static func recordWrite(shard: ShardKeys, tenant: String, entity: EntityKind, record: PipelineRecord,
                                   definition: CompiledDefinition?, at occurredAt: String) -> RecordWrite {
        RecordWrite(key: shard.record(tenant: tenant, entity: entity.rawValue, id: record.id),
                    expectedVersion: record.version - 1, newVersion: record.version, fields: [("d", encode(record))],
                    dashboard: .record(shard: shard, tenant: tenant, entity: entity, record: record, definition: definition, at: occurredAt))
    }

    /// Several hashes' fields in one round trip (for services with data of their own).
    public func fields(_ reads: [HashRead]) async throws -> [[[UInt8]?]] { try await storage.read(reads) }

    /// One hash, every field.
    public func hash(_ key: String) async throws -> [String: [UInt8]] {
        Dictionary(try await storage.readAll(key).map { ($0.field, $0.value) }, uniquingKeysWith: { _, last in last })
    }

    /// A stored JSON document.
    public static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        try decoder.decode(type, from: Data(bytes))
    }

    /// A document as stored: JSON with sorted keys.
    public static func document<T: Encodable>(_ value: T) -> [UInt8] { encode(value) }

    /// A version or counter field as stored (decimal text); 0 when absent.
    public static func integer(_ bytes: [UInt8]?) -> Int {
        bytes.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
    }

    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        // Core types hold only strings, numbers and booleans: encoding cannot fail.
        Array(try! encoder.encode(value))
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private static let decoder = JSONDecoder()
}

/// Compiled definitions by key and version. A published version never changes (its write requires
/// the previous version and adds a new field), so entries never go stale; the size is bounded.
public final class DefinitionCache: Sendable {
    private let entries = Mutex<[String: CompiledDefinition]>([:])
    private let capacity: Int

    public init(capacity: Int = 10_000) {
        self.capacity = capacity
    }

    subscript(key: String) -> CompiledDefinition? {
        get { entries.withLock { $0[key] } }
        set {
            entries.withLock { map in
                if map.count >= capacity { map.removeAll(keepingCapacity: true) }
                map[key] = newValue
            }
        }
    }
}

/// Stored bytes that no longer match their checksum.
public struct CorruptedData: Error, Sendable, CustomStringConvertible {
    public let key: String
    public var description: String { "\(key) does not match its checksum: the stored bytes were altered" }
}
