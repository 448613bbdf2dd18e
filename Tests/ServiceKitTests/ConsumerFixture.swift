import Contracts
import Foundation
import Logging
import RedisClient
import ServiceKit
import Synchronization
import TestSupport

/// A handler for tests: records what it handled, fails on demand.
final class RecordingHandler: SingleMessageHandler {
    let group = "testers"
    let catalog = MessageCatalog([.init(type: "lead.create", kind: .command)])
    let handled = Mutex<[String]>([])
    /// Envelope ids that always fail (a poison message), with the error thrown.
    let poisoned: Set<String>
    /// Delay per message, to keep a batch in flight.
    let delay: Duration

    init(poisoned: Set<String> = [], delay: Duration = .zero) {
        self.poisoned = poisoned
        self.delay = delay
    }

    func streams(of shard: ShardKeys) -> [String] { [shard.commands(.pipeline)] }

    /// Messages are independent unless they share a lead id.
    func ordering(of message: InboundMessage) -> Ordering {
        Ordering(scope: message.envelope.tenant, key: message.envelope.payload["leadId"]?.stringValue ?? message.envelope.id)
    }

    func handle(_ message: InboundMessage) async throws -> Bool {
        if delay > .zero { try await Task.sleep(for: delay) }
        if poisoned.contains(message.envelope.id) { throw RedisError.protocolError("simulated handler failure") }
        handled.withLock { $0.append(message.envelope.id) }
        return false
    }

    var handledIDs: [String] { handled.withLock { $0 } }
}

/// A real redis-server plus helpers to run consumers against it in-process.
struct ConsumerFixture {
    let server: RedisServerProcess
    let pool: RedisPool
    let redis: RedisConnection
    let router = ShardRouter(shards: 4)
    let tenant = "acme"

    init() async throws {
        server = try await RedisServerProcess()
        pool = RedisPool(endpoint: server.endpoint)
        redis = server.connection()
    }

    var shard: ShardKeys { router.keys(forTenant: tenant) }

    func consumer(_ handler: any MessageHandler, name: String, claimIdle: Duration = .seconds(30), maxDeliveries: Int = 5, batchSize: Int = 16) -> StreamConsumer {
        let settings = ConsumerSettings(consumer: name, batchSize: batchSize, block: .milliseconds(100), claimIdle: claimIdle, maxDeliveries: maxDeliveries)
        return StreamConsumer(handler: handler, settings: settings, router: router, pool: pool, logger: Logger(label: "test"))
    }

    func leadCreate(id: String = Envelope.newID(), leadID: String = "L-\(Int.random(in: 1...999_999))", tenant: String? = nil) -> Envelope {
        Envelope(id: id, type: "lead.create", kind: .command, tenant: tenant ?? self.tenant, actor: "u-1", payload: ["leadId": .string(leadID)])
    }

    @discardableResult
    func publish(_ envelope: Envelope) async throws -> String {
        try await publishRaw(envelope.encoded(), to: router.keys(forTenant: envelope.tenant).commands(.pipeline))
    }

    @discardableResult
    func publishRaw(_ bytes: [UInt8], to stream: String) async throws -> String {
        try await redis.xadd(stream, fields: [("envelope", bytes)])
    }

    func dlq(_ shard: ShardKeys? = nil) async throws -> [StreamEntry] {
        try await redis.xrange((shard ?? self.shard).dlq)
    }
}

/// Runs a consumer until `body` returns, then stops it and waits for it to finish.
func running<T>(_ consumer: StreamConsumer, _ body: () async throws -> T) async throws -> T {
    let task = Task { try await consumer.run() }
    do {
        let result = try await body()
        consumer.requestStop()
        try await task.value
        return result
    } catch {
        consumer.requestStop()
        _ = try? await task.value
        throw error
    }
}
