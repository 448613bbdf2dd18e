import AssignmentService
public import Contracts
public import CrmCore
public import CrmRedis
import Foundation
public import Logging
import PipelineService

/// Where the Level 1 API's calls go, and as whom: the services over Redis (`services`), or the same
/// CrmCore rules in-process on a storage of the app's choice (`inProcess`). Code written against
/// `HasCrm` runs unchanged on either.
public struct CrmEngine: Sendable {
    public let tenant: String
    /// The user the app acts as; roles come from the tenant's directory, never from here.
    public let actor: String
    let backend: any CrmBackend

    /// Over the running services: each call publishes a command and waits for its outcome.
    public static func services(_ client: CrmClient, tenant: String, actor: String, timeout: Duration = .seconds(10)) -> CrmEngine {
        CrmEngine(tenant: tenant, actor: actor, backend: ServicesBackend(client: client, timeout: timeout))
    }

    /// In this process, on `storage` (in memory unless the app brings its own), with the Swift
    /// conditions and hooks its definitions name.
    public static func inProcess(storage: any CrmStorage = InMemoryCrmStorage(), tenant: String, actor: String,
                                 extensions: ExtensionRegistry = .empty, logger: Logger = Logger(label: "crm.kit")) -> CrmEngine {
        CrmEngine(tenant: tenant, actor: actor, backend: InProcessBackend(storage: storage, extensions: extensions, logger: logger))
    }

    /// The engine `HasCrm.crm()` uses: `CrmEngine.$current.withValue(engine) { … }`.
    @TaskLocal public static var current: CrmEngine?

    /// The same engine acting as another user of the tenant.
    public func acting(as actor: String) -> CrmEngine { CrmEngine(tenant: tenant, actor: actor, backend: backend) }

    /// Sends a command of this tenant and actor; a rejection is thrown as `CrmKitError.rejected`.
    @discardableResult
    public func send(_ type: String, _ payload: JSONValue) async throws -> CommandResult {
        let command = Envelope(type: type, kind: .command, tenant: tenant, actor: actor, payload: payload)
        let result = try await backend.send(command)
        guard result.accepted else {
            throw CrmKitError.rejected(commandType: type, code: result.rejectionCode ?? "unknown",
                                       message: result.outcome.payload["message"]?.stringValue ?? "",
                                       field: result.outcome.payload["field"]?.stringValue)
        }
        return result
    }

    var store: CrmStore { backend.store }
    var shard: ShardKeys { backend.router.keys(forTenant: tenant) }
}

/// What a Level 1 call can fail with, saying what to do about it.
public enum CrmKitError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The engine refused the command (the `command.rejected` code: `forbidden`, `invalid_transition`…).
    case rejected(commandType: String, code: String, message: String, field: String?)
    /// Data that breaks a field rule the app declared in code.
    case invalidField(field: String, message: String)
    /// `crm()` was called outside `CrmEngine.$current.withValue(…)`.
    case noEngine
    /// The call needs a service that has no in-process form (timers, integrations).
    case needsServices(String)

    public var description: String {
        switch self {
        case .rejected(let type, let code, let message, let field):
            return "\(type) was rejected (\(code))\(field.map { " at \($0)" } ?? ""): \(message)"
        case .invalidField(let field, let message): return "\(field): \(message)"
        case .noEngine: return "no CrmEngine: call crm(in:) or run inside CrmEngine.$current.withValue(engine) { … }"
        case .needsServices(let what): return "\(what) needs the services: use CrmEngine.services(…)"
        }
    }

    public var code: String? {
        if case .rejected(_, let code, _, _) = self { return code }
        return nil
    }
}

/// Sends commands and reads what they wrote, for one way of running the engine.
protocol CrmBackend: Sendable {
    var store: CrmStore { get }
    var router: ShardRouter { get }
    func send(_ command: Envelope) async throws -> CommandResult
    /// The events and outcomes about one record, oldest first.
    func history(tenant: String, subject: AuditSubject) async throws -> [Envelope]
}

struct ServicesBackend: CrmBackend {
    let client: CrmClient
    let timeout: Duration
    let store: CrmStore

    init(client: CrmClient, timeout: Duration) {
        self.client = client
        self.timeout = timeout
        self.store = CrmStore(pool: client.pool)
    }

    var router: ShardRouter { client.router }

    func send(_ command: Envelope) async throws -> CommandResult { try await client.send(command, timeout: timeout) }

    func history(tenant: String, subject: AuditSubject) async throws -> [Envelope] {
        try await client.history(tenant: tenant, entity: subject.entity, id: subject.id).compactMap { try? EnvelopeReader().read($0.bytes) }
    }
}

struct InProcessBackend: CrmBackend {
    let storage: any CrmStorage
    let store: CrmStore
    let pipeline: PipelineCommands
    let assignment: AssignmentCommands
    // One shard: in-process there is nothing to spread.
    let router = ShardRouter(shards: 1)

    init(storage: any CrmStorage, extensions: ExtensionRegistry, logger: Logger) {
        self.storage = storage
        self.store = CrmStore(storage: storage, registry: extensions)
        self.pipeline = PipelineCommands(storage: storage, extensions: extensions, logger: logger)
        self.assignment = AssignmentCommands(storage: storage, logger: logger)
    }

    func send(_ command: Envelope) async throws -> CommandResult {
        // The same checks a service's consumer makes before handling: size, shape, known type and version.
        let checked = try EnvelopeReader().read(command.encoded())
        let shard = router.keys(forTenant: checked.tenant)
        let outcome: CommittedOutcome
        if PipelineCommands.types.contains(checked.type) {
            outcome = try await pipeline.execute(checked, shard: shard)
        } else if AssignmentCommands.types.contains(checked.type) {
            outcome = try await assignment.execute(checked, shard: shard)
        } else {
            throw CrmKitError.needsServices("'\(checked.type)'")
        }
        // Commands a decision sent to another service (an approved action) run next, as the services would.
        if let memory = storage as? InMemoryCrmStorage {
            for emitted in memory.takeCommands() { _ = try? await send(emitted) }
        }
        switch outcome {
        case .decided(let envelope): return CommandResult(outcome: envelope)
        case .replayed(let bytes): return CommandResult(outcome: try EnvelopeReader().read(bytes))
        case .silent: throw CrmKitError.needsServices("'\(checked.type)' (a reaction, not a command)")
        }
    }

    func history(tenant: String, subject: AuditSubject) async throws -> [Envelope] {
        guard let log = storage as? any CrmEventLog else {
            throw CrmKitError.needsServices("history() on a storage that keeps no events (CrmEventLog)")
        }
        return log.events(tenant: tenant).filter { AuditSubject.of($0) == subject }
    }
}
