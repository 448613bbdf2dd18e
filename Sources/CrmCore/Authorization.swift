/// A user of a tenant's directory: the roles the services resolve for an actor (never read from a message).
public struct DirectoryUser: Sendable, Hashable, Codable {
    public var userId: String
    public var roles: [String]
    public var name: String?
    public var active: Bool
    /// The teams (assignment pools) the user works in.
    public var teams: [String]

    public init(userId: String, roles: [String], name: String? = nil, active: Bool = true, teams: [String] = []) {
        self.userId = userId
        self.roles = roles
        self.name = name
        self.active = active
        self.teams = teams
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        userId = try container.decode(String.self, forKey: .userId)
        roles = try container.decode([String].self, forKey: .roles)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        active = try container.decodeIfPresent(Bool.self, forKey: .active) ?? true
        // Users stored before teams existed are in none.
        teams = try container.decodeIfPresent([String].self, forKey: .teams) ?? []
    }
}

/// An API key of the gateway, stored by its SHA-256 only: whom it acts as, and whether it still works.
public struct APIKey: Sendable, Hashable, Codable {
    public let userId: String
    public let name: String
    public var active: Bool

    public init(userId: String, name: String, active: Bool = true) {
        self.userId = userId
        self.name = name
        self.active = active
    }

    /// A key reads `crm.<tenant>.<secret>`: the tenant it belongs to, or nil for anything else.
    public static func tenant(of key: String) -> String? {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "crm", !parts[1].isEmpty, parts[2].count >= 32 else { return nil }
        return String(parts[1])
    }
}

/// A tenant's settings that are not part of any definition.
public struct TenantSettings: Sendable, Hashable, Codable {
    /// Users may assign records to themselves (DESIGN §4: not unless the tenant allows it).
    public var allowSelfAssignment: Bool
    /// A submitter may approve their own approval request.
    public var allowSelfApproval: Bool

    public init(allowSelfAssignment: Bool = false, allowSelfApproval: Bool = false) {
        self.allowSelfAssignment = allowSelfAssignment
        self.allowSelfApproval = allowSelfApproval
    }
}

/// RBAC (SEC-CRM-0467, SEC-CRM-0437): who may do what to a record of a definition.
public enum Authorization {
    /// The role that administers a tenant: its directory and its definitions.
    public static let adminRole = "admin"

    /// The permission a command needs: `create`, `update`, or the action's name.
    /// A definition without permissions is open to every actor (Level 1); one with permissions admits
    /// only active users of the tenant's directory, and for a listed permission only its roles.
    public static func check(actor: String, user: DirectoryUser?, permission: String, definition: PipelineDefinition) -> DomainRejection? {
        guard !definition.permissions.isEmpty else { return nil }
        guard let user, user.active else {
            return DomainRejection(code: "forbidden", message: "'\(actor)' is not an active user of the tenant's directory")
        }
        guard let roles = definition.permissions[permission] else { return nil }
        guard !Set(roles).isDisjoint(with: user.roles) else {
            return DomainRejection(code: "forbidden", message: "'\(permission)' needs one of the roles \(roles.joined(separator: ", ")); '\(actor)' has \(user.roles.isEmpty ? "none" : user.roles.joined(separator: ", "))")
        }
        return nil
    }

    /// `can(action)` of the Level 1 API: whether `check` would let the actor through.
    public static func can(actor: String, user: DirectoryUser?, permission: String, definition: PipelineDefinition) -> Bool {
        check(actor: actor, user: user, permission: permission, definition: definition) == nil
    }

    /// Commands that follow no definition (contacts, interactions): open while the tenant has no
    /// directory (Level 1), for its active users once it has one.
    public static func checkMember(actor: String, user: DirectoryUser?, directoryExists: Bool) -> DomainRejection? {
        guard directoryExists else { return nil }
        guard let user, user.active else {
            return DomainRejection(code: "forbidden", message: "'\(actor)' is not an active user of the tenant's directory")
        }
        return nil
    }

    /// Changing a tenant's directory or definitions: anyone while the tenant has no directory yet
    /// (the first user put must then be an admin), an active admin afterwards.
    public static func checkAdministration(actor: String, user: DirectoryUser?, directoryExists: Bool) -> DomainRejection? {
        guard directoryExists else { return nil }
        guard let user, user.active, user.roles.contains(adminRole) else {
            return DomainRejection(code: "forbidden", message: "'\(actor)' needs the role '\(adminRole)' to change the tenant's directory or definitions")
        }
        return nil
    }
}
