/// A tenant's own fields for an entity (FUN-CRM-0289), added without any migration and checked on
/// every write together with the definition's fields. Removing a field stops new writes to it; the
/// values records already hold stay readable.
public struct CustomFields: Sendable, Hashable, Codable {
    public var fields: [FieldRule]
    public var removed: [String]

    public init(fields: [FieldRule] = [], removed: [String] = []) {
        self.fields = fields
        self.removed = removed
    }

    public static let none = CustomFields()

    /// Applies a `fields.configure`: adds (or redefines) fields, removes others. A custom field may not
    /// shadow one of the definition's.
    public func configured(adding: [FieldRule], removing: [String], definitionFields: [FieldRule]) throws(DomainRejection) -> CustomFields {
        let own = Set(definitionFields.map(\.name))
        var byName = Dictionary(fields.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        var removed = Set(self.removed)
        for (index, rule) in adding.enumerated() {
            guard !own.contains(rule.name) else {
                throw DomainRejection(code: "invalid_payload", message: "'\(rule.name)' is a field of the definition itself", field: "payload.add[\(index)].name")
            }
            if rule.type == .enum, (rule.values ?? []).isEmpty {
                throw DomainRejection(code: "invalid_payload", message: "an enum field lists its values", field: "payload.add[\(index)].values")
            }
            byName[rule.name] = rule
            removed.remove(rule.name)
        }
        for (index, name) in removing.enumerated() {
            guard byName.removeValue(forKey: name) != nil else {
                throw DomainRejection(code: "not_found", message: "'\(name)' is not a custom field", field: "payload.remove[\(index)]")
            }
            removed.insert(name)
        }
        return CustomFields(fields: byName.values.sorted { $0.name < $1.name }, removed: removed.sorted())
    }
}
