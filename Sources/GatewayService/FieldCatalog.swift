import Contracts
import CrmCore
import CrmRedis

/// The fields a record of an entity takes now: the latest definition's own and the tenant's custom
/// ones (FUN-CRM-0289), with the retired custom fields named apart. The admin page and create forms
/// are built from it.
struct FieldCatalog: Sendable {
    let entity: EntityKind
    let definitionVersion: Int
    let definition: PipelineDefinition?
    let definitionFields: [FieldRule]
    let customFields: [FieldRule]
    let retired: [String]
    let customFieldsVersion: Int

    static func read(store: CrmStore, shard: ShardKeys, tenant: String, entity: EntityKind) async throws -> FieldCatalog {
        let key = shard.definitions(tenant: tenant, entity: entity.rawValue)
        let version = CrmStore.integer(try await store.fields([HashRead(key, ["v"])])[0][0])
        var definition: PipelineDefinition?
        if version > 0, let bytes = try await store.fields([HashRead(key, ["d:\(version)"])])[0][0] {
            definition = try CrmStore.decode(PipelineDefinition.self, bytes)
        }
        let (custom, customVersion) = try await store.customFields(shard: shard, tenant: tenant, entity: entity)
        return FieldCatalog(entity: entity, definitionVersion: version, definition: definition, definitionFields: definition?.fields ?? [],
                            customFields: custom.fields, retired: custom.removed, customFieldsVersion: customVersion)
    }

    var allFields: [FieldRule] { definitionFields + customFields }

    var json: JSONValue {
        func rules(_ fields: [FieldRule]) -> JSONValue {
            .array(fields.map { (try? JSONValue.parse(CrmStore.document($0))) ?? .null })
        }
        return ["entity": .string(entity.rawValue), "definitionVersion": .integer(Int64(definitionVersion)),
                "definitionFields": rules(definitionFields), "customFields": rules(customFields),
                "retired": .array(retired.map { .string($0) }), "customFieldsVersion": .integer(Int64(customFieldsVersion))]
    }
}
