import ArgumentParser
import Contracts
import Foundation
import RedisClient

/// `crmctl integrations`: the tenants' integrations and their health, and the calls that were dead-lettered.
struct Integrations: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List integrations with their health (attempts, success rate, breaker state); list, retry or discard dead-lettered calls.",
        subcommands: [List.self, Dead.self, Retry.self, Discard.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One JSON line per integration: its settings (never the secret), attempts by result, success rate and breaker state.",
            discussion: "Health comes from the metrics each integration-service process publishes every few seconds; the breaker shown is the worst over the processes.")

        @OptionGroup var connection: ClientOptions

        @Option(help: "Only this tenant.")
        var tenant: String?

        func run() async throws {
            let redis = try connection.connection()
            let health = try await IntegrationHealth.read(redis)
            for shard in connection.shards(tenant: tenant) {
                let keys = try await scan(redis, pattern: tenant.map { shard.integrations(tenant: $0) } ?? shard.integrations(tenant: "*"))
                for key in keys.sorted() {
                    let owner = String(key.dropFirst(shard.integrations(tenant: "").count))
                    let flat = try await redis.send("HGETALL", key).array ?? []
                    for index in stride(from: 0, to: flat.count - 1, by: 2) {
                        guard let field = flat[index].string, field.hasPrefix("i:"), let bytes = flat[index + 1].bytes,
                              case .object(var fields) = try JSONValue.parse(bytes) else { continue }
                        let name = String(field.dropFirst(2))
                        fields.removeValue(forKey: "secret")
                        fields.removeValue(forKey: "name")
                        var line: [String: JSONValue] = ["tenant": .string(owner), "integration": .string(name)]
                        line.merge(fields) { first, _ in first }
                        line.merge(health.summary(tenant: owner, integration: name)) { $1 }
                        printJSON(.object(line))
                    }
                }
            }
        }
    }

    struct Dead: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Dead-lettered calls (integration-service's DLQ entries) as JSON lines.")

        @OptionGroup var connection: ClientOptions

        @Option(help: "Only this tenant.")
        var tenant: String?

        func run() async throws {
            let redis = try connection.connection()
            for shard in connection.shards(tenant: tenant) {
                for entry in try await redis.xrange(shard.dlq) where entry.string("group") == "integration" {
                    let command = envelopeJSON(entry.field("envelope"))
                    if let tenant, command["tenant"]?.stringValue != tenant { continue }
                    var line: [String: JSONValue] = ["shard": .integer(Int64(shard.shard)), "entryId": .string(entry.id)]
                    for name in ["tenant"] { line[name] = command[name] }
                    for name in ["callId", "integration", "sagaId", "step", "subject"] { line[name] = command["payload"]?[name] }
                    line["operation"] = command["type"]
                    for name in ["reason", "detail", "failedAt"] { line[name] = entry.string(name).map { .string($0) } }
                    line["attempts"] = entry.string("deliveries").flatMap { Int64($0) }.map { .integer($0) }
                    printJSON(.object(line.compactMapValues { $0 }))
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a dead-lettered call again (its command under a new id) and remove its DLQ entry; prints the outcome.",
            discussion: "The call keeps its callId and idempotency key and gets a fresh retry budget.")

        @OptionGroup var connection: ClientOptions

        @Argument(help: "The DLQ entry id (from crmctl integrations dead).")
        var entryID: String

        @Option(help: "The shard whose DLQ holds the entry.")
        var shard: Int

        @Option(help: "Seconds to wait for the outcome.")
        var timeout: Int = 10

        func run() async throws {
            let (keys, entry) = try await deadCall(connection, shard: shard, entryID: entryID)
            let redis = try connection.connection()
            guard var command = try? EnvelopeReader().read(entry.field("envelope") ?? []) else {
                throw ValidationError("entry \(entryID) holds no readable command")
            }
            command.id = Envelope.newID()
            command.occurredAt = Envelope.timestamp()
            // Sent first, then removed: should the removal fail, the entry stays listed, and a second
            // retry of a call already pending again is accepted without making it twice.
            try await redis.xadd(keys.commands(.integration), fields: [("envelope", command.encoded())])
            try await redis.send("XDEL", keys.dlq, entryID)
            let reply = try await redis.send("BLPOP", keys.reply(commandID: command.id), timeout)
            guard let bytes = reply.array?.last?.bytes else { throw ValidationError("no outcome for \(command.id) within \(timeout) s") }
            print(String(decoding: bytes, as: UTF8.self))
        }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a dead-lettered call from the DLQ for good.")

        @OptionGroup var connection: ClientOptions

        @Argument(help: "The DLQ entry id (from crmctl integrations dead).")
        var entryID: String

        @Option(help: "The shard whose DLQ holds the entry.")
        var shard: Int

        func run() async throws {
            let (keys, _) = try await deadCall(connection, shard: shard, entryID: entryID)
            try await connection.connection().send("XDEL", keys.dlq, entryID)
            printJSON(["discarded": .string(entryID), "shard": .integer(Int64(shard))])
        }
    }
}

/// The DLQ entry of a dead-lettered call, or a usage error.
private func deadCall(_ connection: ClientOptions, shard: Int, entryID: String) async throws -> (ShardKeys, StreamEntry) {
    guard shard >= 0, shard < connection.shards else { throw ValidationError("--shard must be 0…\(connection.shards - 1)") }
    let keys = ShardKeys(shard: shard)
    guard let entry = try await connection.connection().xrange(keys.dlq, start: entryID, end: entryID, count: 1).first,
          entry.string("group") == "integration" else {
        throw ValidationError("no dead-lettered call \(entryID) on shard \(shard)")
    }
    return (keys, entry)
}

private func scan(_ redis: RedisConnection, pattern: String) async throws -> [String] {
    var cursor = "0"
    var keys: [String] = []
    repeat {
        let reply = try await redis.send("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
        guard let parts = reply.array, parts.count == 2 else { break }
        cursor = parts[0].string ?? "0"
        keys += parts[1].array?.compactMap(\.string) ?? []
    } while cursor != "0"
    return keys
}

/// What the integration-service processes report in their Prometheus metrics (`crm:metrics:integration:*`).
struct IntegrationHealth {
    var attempts: [String: [String: Double]] = [:]
    var breakers: [String: Int] = [:]

    static func read(_ redis: RedisConnection) async throws -> IntegrationHealth {
        var health = IntegrationHealth()
        for key in try await scan(redis, pattern: "crm:metrics:integration:*") {
            guard let text = try await redis.send("GET", key).string else { continue }
            for line in text.split(separator: "\n") where line.hasPrefix("crm_integration_") {
                guard let (name, labels, value) = parse(String(line)), let tenant = labels["tenant"], let integration = labels["integration"] else { continue }
                let id = "\(tenant)/\(integration)"
                if name == "crm_integration_attempts_total", let result = labels["result"] {
                    health.attempts[id, default: [:]][result, default: 0] += value
                } else if name == "crm_integration_breaker_state" {
                    health.breakers[id] = max(health.breakers[id] ?? 0, Int(value))
                }
            }
        }
        return health
    }

    func summary(tenant: String, integration: String) -> [String: JSONValue] {
        let id = "\(tenant)/\(integration)"
        let counts = attempts[id] ?? [:]
        let total = counts.values.reduce(0, +)
        var summary: [String: JSONValue] = [
            "attempts": .object(counts.mapValues { .integer(Int64($0)) }),
            "breaker": .string(breakers[id].map { ["closed", "half_open", "open"][min(max($0, 0), 2)] } ?? "unknown"),
        ]
        if total > 0 { summary["successRate"] = .number(((counts["succeeded"] ?? 0) / total * 1000).rounded() / 1000) }
        return summary
    }

    /// `name{a="x",b="y"} value` (Prometheus text format, labels without escaped quotes).
    static func parse(_ line: String) -> (String, [String: String], Double)? {
        guard let open = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}"),
              let value = Double(line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)) else { return nil }
        var labels: [String: String] = [:]
        for pair in line[line.index(after: open)..<close].split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            labels[String(parts[0])] = String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return (String(line[..<open]), labels, value)
    }
}
