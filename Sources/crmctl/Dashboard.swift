import ArgumentParser
import Contracts
import CrmRedis
import Foundation
import RedisClient

/// `crmctl dashboard pending|funnel`: the dashboard projection, read as the gateway reads it.
struct Dashboard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pending leads and opportunities (filtered, sorted, paged) and the funnel, from the dashboard projection.",
        subcommands: [Pending.self, Funnel.self])

    struct Pending: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One page of pending records as JSON lines, then {next, scanned}; pass --cursor <next> for the following page.")

        @OptionGroup var connection: ClientOptions
        @Option(help: "The tenant.") var tenant: String
        @Option(help: "tenant, user or team.") var scope: String?
        @Option(help: "scope=user: the owner.") var user: String?
        @Option(help: "scope=team: the team.") var team: String?
        @Option(help: "lead or opportunity.") var kind: String?
        @Option(help: "Only this stage.") var stage: String?
        @Option(help: "Only this owner.") var owner: String?
        @Option(help: "Comma-separated SLA states: on_track, at_risk, breached, none.") var sla: String?
        @Option(help: "pending or none.") var approval: String?
        @Option(name: .customLong("min-age"), help: "ISO 8601 duration.") var minAge: String?
        @Option(name: .customLong("max-age"), help: "ISO 8601 duration.") var maxAge: String?
        @Option(help: "age, newest, due or stage.") var sort: String?
        @Option(help: "Page size, 1…1000.") var limit: String?
        @Option(help: "The next of the previous page.") var cursor: String?

        func run() async throws {
            guard Identifier.isTenant(tenant) else { throw ValidationError("'\(tenant)' is not a tenant id") }
            let given: [(String, String?)] = [("scope", scope), ("user", user), ("team", team), ("kind", kind), ("stage", stage), ("owner", owner),
                                              ("sla", sla), ("approval", approval), ("minAge", minAge), ("maxAge", maxAge), ("sort", sort),
                                              ("limit", limit), ("cursor", cursor)]
            var parameters: [String: String] = [:]
            for case let (name, value?) in given { parameters[name] = value }
            let filter: DashboardFilter
            do {
                filter = try DashboardFilter.parse(parameters, caller: nil)
            } catch {
                throw ValidationError("\(error)")
            }
            let pool = RedisPool(endpoint: try connection.endpoint(), size: 1)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let page = try await DashboardQuery(pool: pool, router: connection.router).pending(tenant: tenant, filter: filter, now: now)
            for item in page.items { printJSON(item.json(now: now)) }
            var summary: [String: JSONValue] = ["items": .integer(Int64(page.items.count)), "scanned": .integer(Int64(page.scanned))]
            if let next = page.next { summary["next"] = .string(next.token) }
            printJSON(.object(summary))
        }
    }

    struct Funnel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open records per stage and kind, in the definition's stage order, as JSON lines.")

        @OptionGroup var connection: ClientOptions
        @Option(help: "The tenant.") var tenant: String

        func run() async throws {
            guard Identifier.isTenant(tenant) else { throw ValidationError("'\(tenant)' is not a tenant id") }
            let pool = RedisPool(endpoint: try connection.endpoint(), size: 1)
            for stage in try await DashboardQuery(pool: pool, router: connection.router).funnel(tenant: tenant) {
                printJSON(["kind": .string(stage.kind), "stage": .string(stage.stage), "open": .integer(Int64(stage.open))])
            }
        }
    }
}
