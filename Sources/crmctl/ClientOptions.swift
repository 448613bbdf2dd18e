import ArgumentParser
import Contracts
import CrmKit
import Foundation
import RedisClient

/// Where crmctl connects: the same names and defaults as the services (DESIGN §3).
struct ClientOptions: ParsableArguments {
    @Option(name: .customLong("redis-url"), help: "Redis URL (env CRM_REDIS_URL).")
    var redisURL: String = ProcessInfo.processInfo.environment["CRM_REDIS_URL"] ?? "redis://127.0.0.1:6379"

    @Option(name: .customLong("shards"), help: "Shard count of the deployment (env CRM_SHARDS).")
    var shards: Int = ProcessInfo.processInfo.environment["CRM_SHARDS"].flatMap { Int($0) } ?? 4

    func validate() throws {
        guard shards >= 1, shards <= 1024 else { throw ValidationError("--shards (CRM_SHARDS) must be 1…1024") }
        _ = try endpoint()
    }

    func endpoint() throws -> RedisEndpoint {
        do {
            return try RedisEndpoint(url: redisURL)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    var router: ShardRouter { ShardRouter(shards: shards) }

    /// A connection whose socket timeout outlasts a `--follow` read.
    func connection() throws -> RedisConnection {
        RedisConnection(endpoint: try endpoint(), options: RedisConnectionOptions(commandTimeout: .seconds(30)))
    }

    /// Shards to look at: the tenant's one, or all.
    func shards(tenant: String?) -> [ShardKeys] {
        if let tenant { return [router.keys(forTenant: tenant)] }
        return router.allShards
    }
}

/// Writes one line of JSON to stdout, unbuffered (so `audit tail --follow | …` sees each entry at once).
func printJSON(_ value: JSONValue) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data("null".utf8)
    writeOut(data + Data("\n".utf8))
}

/// Writes to stdout unbuffered; when the reader went away (`crmctl … | head`), exits quietly.
func writeOut(_ data: Data) {
    do {
        try FileHandle.standardOutput.write(contentsOf: data)
    } catch {
        exit(0)
    }
}

/// An entry's `envelope` field as JSON when it parses, else as a string (the DLQ keeps raw bytes).
func envelopeJSON(_ bytes: [UInt8]?) -> JSONValue {
    guard let bytes else { return .null }
    if let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) { return value }
    return .string(String(decoding: bytes, as: UTF8.self))
}

/// Hands `body` the document (`d`) of every hash whose key starts with `prefix`, walking the keys
/// with SCAN a page at a time (an operator's tool: it costs time in proportion to the keyspace);
/// `body` returns false to stop.
func forEachDocument(_ redis: RedisConnection, prefix: String, _ body: ([UInt8]) throws -> Bool) async throws {
    var cursor = "0"
    repeat {
        let reply = try await redis.send("SCAN", cursor, "MATCH", prefix + "*", "COUNT", 1000)
        let parts = reply.array ?? []
        cursor = parts.first?.string ?? "0"
        let keys = (parts.count > 1 ? parts[1].array ?? [] : []).compactMap(\.string).sorted()
        guard !keys.isEmpty else { continue }
        for reply in try await redis.pipeline(keys.map { RedisCommand("HGET", [$0, "d"]) }) {
            guard let bytes = reply.bytes else { continue }
            guard try body(bytes) else { return }
        }
    } while cursor != "0"
}
