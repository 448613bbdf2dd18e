public import Contracts
public import CrmCore
public import CrmRedis
public import Logging

/// What assignment-service does with a command, on any storage: the tenant's directory and settings,
/// assignment, delegation and approvals. Each command is read, decided by CrmCore's rules and
/// committed atomically (deciding again when something it read changed meanwhile).
public struct AssignmentCommands: Sendable {
    public static let types = Set([MessageType.directoryPutUser] + MessageType.assignmentCommands)
    /// Events it reacts to: breach and escalation actions that reassign a record.
    public static let reactions: Set<String> = [MessageType.slaBreached, MessageType.recordEscalated]
    let store: CrmStore
    let committer: CommandCommitter
    let logger: Logger
    let strategies: AssignmentStrategyRegistry
    let approvalRules: ApprovalRuleRegistry

    public init(storage: any CrmStorage, logger: Logger, policy: CommitPolicy = .init(),
                strategies: AssignmentStrategyRegistry = .empty, approvalRules: ApprovalRuleRegistry = .empty) {
        self.store = CrmStore(storage: storage)
        self.committer = CommandCommitter(storage: storage, group: "assignment", policy: policy)
        self.logger = logger
        self.strategies = strategies
        self.approvalRules = approvalRules
    }

    @discardableResult
    public func execute(_ command: Envelope, shard: ShardKeys, acknowledging entry: (stream: String, entryID: String)? = nil) async throws -> CommittedOutcome {
        // Round-robin turns and loads are shared by every assignment of a tenant: under contention
        // from several consumers a command may need more than the default attempts.
        try await committer.decideAndCommit(command, shard: shard, acknowledging: entry, maxAttempts: 64, logger: logger) {
            if command.kind == .event { return try await react(command, shard: shard) }
            return try await decide(command, shard: shard)
        }
    }

    private func decide(_ command: Envelope, shard: ShardKeys) async throws -> CommandDecision {
        let tenant = try await TenantDirectory.read(store, shard: shard, tenant: command.tenant)
        switch command.type {
        case MessageType.directoryPutUser: return try putUser(command, shard: shard, directory: tenant)
        case MessageType.directoryConfigure: return try configure(command, shard: shard, directory: tenant)
        case MessageType.directoryPutAPIKey: return try putAPIKey(command, shard: shard, directory: tenant)
        case MessageType.assignmentRequest: return try await assign(command, shard: shard, directory: tenant)
        case MessageType.delegationSet: return try await setDelegation(command, shard: shard, directory: tenant)
        case MessageType.delegationRevoke: return try await revokeDelegation(command, shard: shard, directory: tenant)
        case MessageType.approvalRequest: return try await requestApproval(command, shard: shard, directory: tenant)
        case MessageType.approvalVote: return try await vote(command, shard: shard, directory: tenant)
        default: throw Rejection(.invalidPayload, "assignment-service does not handle \(command.type)")
        }
    }
}

/// A tenant's directory as assignment-service reads it: every user, the settings, the version.
struct TenantDirectory {
    let version: Int
    let users: [String: DirectoryUser]
    let settings: TenantSettings

    var exists: Bool { version > 0 }

    static func read(_ store: CrmStore, shard: ShardKeys, tenant: String) async throws -> TenantDirectory {
        let fields = try await store.hash(shard.directory(tenant: tenant))
        var users: [String: DirectoryUser] = [:]
        for (name, bytes) in fields where name.hasPrefix("u:") {
            let user = try CrmStore.decode(DirectoryUser.self, bytes)
            users[user.userId] = user
        }
        let settings = try fields["settings"].map { try CrmStore.decode(TenantSettings.self, $0) } ?? TenantSettings()
        return TenantDirectory(version: CrmStore.integer(fields["v"]), users: users, settings: settings)
    }

    /// Refuses actors who are not active users once the tenant has a directory.
    func requireMember(_ actor: String) throws(Rejection) {
        if let refusal = Authorization.checkMember(actor: actor, user: users[actor], directoryExists: exists) {
            throw Rejection(.forbidden, refusal.message)
        }
    }

    func requireAdmin(_ actor: String) throws(Rejection) {
        if let refusal = Authorization.checkAdministration(actor: actor, user: users[actor], directoryExists: exists) {
            throw Rejection(.forbidden, refusal.message)
        }
    }

    func isAdmin(_ actor: String) -> Bool { users[actor].map { $0.active && $0.roles.contains(Authorization.adminRole) } ?? false }

    /// A user named in a payload: known to this tenant's directory (another tenant's users are unknown here).
    func requireUser(_ id: String, field: String) throws(Rejection) -> DirectoryUser {
        guard let user = users[id] else { throw Rejection(.unknownUser, "'\(id)' is not a user of the tenant's directory", field: field) }
        return user
    }
}

