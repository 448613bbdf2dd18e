import ArgumentParser
import Contracts
import CrmCore
import CrmRedis
import Foundation
import RedisClient

/// `crmctl queue`: a user's assigned records, open ones first, as JSON lines, then the open count.
struct Queue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A user's queue: the records assigned to them (open and closed) and their open count.")

    @OptionGroup var connection: ClientOptions

    @Option(help: "The tenant.")
    var tenant: String

    @Argument(help: "The user.")
    var user: String

    func validate() throws {
        guard Identifier.isTenant(tenant), Identifier.isActor(user) else { throw ValidationError("the tenant or user has characters an id cannot have") }
    }

    func run() async throws {
        let key = connection.router.keys(forTenant: tenant).queue(tenant: tenant, user: user)
        let fields = try await RedisCrmStorage(pool: RedisPool(endpoint: try connection.endpoint(), size: 1)).readAll(key)
        let entries = fields.filter { $0.field.hasPrefix("r:") && !$0.value.isEmpty }.compactMap { try? CrmStore.decode(QueueEntry.self, $0.value) }
        for entry in entries.sorted(by: { ($0.open ? 0 : 1, $0.assignedAt) < ($1.open ? 0 : 1, $1.assignedAt) }) {
            printJSON(["subject": .string(entry.subject), "assignedAt": .string(entry.assignedAt), "open": .bool(entry.open)])
        }
        let open = fields.first { $0.field == "n" }.map { CrmStore.integer($0.value) } ?? 0
        printJSON(["user": .string(user), "open": .integer(Int64(open))])
    }
}

/// `crmctl delegations`: a tenant's delegations (or one user's, given or received), with whether each is in force now.
struct Delegations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A tenant's delegations as JSON lines, with whether each is active now.")

    @OptionGroup var connection: ClientOptions

    @Option(help: "The tenant.")
    var tenant: String

    @Option(help: "Only delegations this user gives or receives.")
    var user: String?

    func validate() throws {
        guard Identifier.isTenant(tenant) else { throw ValidationError("'\(tenant)' is not a tenant name") }
    }

    func run() async throws {
        let key = connection.router.keys(forTenant: tenant).delegations(tenant: tenant)
        let fields = try await RedisCrmStorage(pool: RedisPool(endpoint: try connection.endpoint(), size: 1)).readAll(key)
        let now = Date().timeIntervalSince1970
        for (_, bytes) in fields.filter({ $0.field.hasPrefix("g:") }) {
            guard let delegation = try? CrmStore.decode(Delegation.self, bytes) else { continue }
            if let user, user != delegation.delegator, user != delegation.delegatee { continue }
            printJSON([
                "delegationId": .string(delegation.id), "delegator": .string(delegation.delegator), "delegatee": .string(delegation.delegatee),
                "from": .string(delegation.from), "until": .string(delegation.until), "scope": .array(delegation.scope.map(JSONValue.string)),
                "revoked": .bool(delegation.revoked), "activeNow": .bool(delegation.isActive(at: now, entity: nil)),
            ])
        }
    }
}

/// `crmctl approvals`: a tenant's approvals, optionally those still waiting for a user's vote.
struct Approvals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A tenant's approvals as JSON lines; with --user, the pending ones waiting for that user's vote.",
        discussion: "An operator's tool: it walks the tenant's keys with SCAN.")

    @OptionGroup var connection: ClientOptions

    @Option(help: "The tenant.")
    var tenant: String

    @Option(help: "Only pending approvals where this user is an approver who has not voted.")
    var user: String?

    func validate() throws {
        guard Identifier.isTenant(tenant) else { throw ValidationError("'\(tenant)' is not a tenant name") }
    }

    func run() async throws {
        let redis = try connection.connection()
        let prefix = connection.router.keys(forTenant: tenant).approval(tenant: tenant, id: "")
        try await forEachDocument(redis, prefix: prefix) { bytes in
            guard let approval = try? CrmStore.decode(Approval.self, bytes) else { return true }
            if let user {
                guard approval.status == .pending, approval.approvers.contains(user), !approval.votes.contains(where: { $0.approver == user }) else { return true }
            }
            printJSON([
                "approvalId": .string(approval.id), "subject": .string(approval.subject), "action": .string(approval.action),
                "submitter": .string(approval.submitter), "approvers": .array(approval.approvers.map(JSONValue.string)),
                "status": .string(approval.status.rawValue), "votes": .integer(Int64(approval.votes.count)),
                "decidedAt": approval.decidedAt.map(JSONValue.string) ?? .null,
            ])
            return true
        }
    }
}
