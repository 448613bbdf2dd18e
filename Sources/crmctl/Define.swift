import ArgumentParser
import Contracts
import CrmCore
import CrmKit
import Foundation

/// `crmctl define`: publish a definition written as a plain JSON file (the payload of
/// `definition.publish`), after compiling it here so every problem is listed before anything is sent.
struct Define: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile a definition file (stages, transitions, fields, permissions) and publish it as a new version.",
        discussion: """
        The file holds what definition.publish carries as its payload, e.g. the payload of \
        contracts/v1/examples/01-definition.publish.json. Every compile problem is printed with its path; \
        nothing is sent then. Exit status: 0 published, 1 refused (compile problems or rejected), 2 no outcome.
        """
    )

    @OptionGroup var connection: ClientOptions

    @Option(help: "The tenant the definition is for.")
    var tenant: String

    @Option(help: "Who publishes it: an admin of the tenant's directory, once it has one.")
    var actor: String

    @Flag(help: "Only compile and print the problems; publish nothing.")
    var check = false

    @Option(help: "Seconds to wait for the outcome.")
    var timeout: Double = 10

    @Argument(help: "The definition's JSON file, or - for standard input.")
    var file: String

    func run() async throws {
        guard Identifier.isTenant(tenant), Identifier.isActor(actor) else { throw ValidationError("the tenant or actor has characters an id cannot have") }
        let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
        guard let data else { throw ValidationError("cannot read \(file)") }
        let definition: PipelineDefinition
        do {
            definition = try JSONDecoder().decode(PipelineDefinition.self, from: data)
        } catch {
            FileHandle.standardError.write(Data("crmctl: \(file) is not a definition: \(error)\n".utf8))
            throw ExitCode(1)
        }
        do {
            _ = try CompiledDefinition.compile(definition, version: 1, registry: Self.placeholders(for: definition))
        } catch {
            for problem in error.problems { print("\(file): \(problem.path): \(problem.message)") }
            print("\(error.problems.count) problem(s); nothing was published")
            throw ExitCode(1)
        }
        if check {
            print("\(file): compiles (\(definition.entity.rawValue), \(definition.stages.count) stages, \(definition.transitions.count) transitions)")
            return
        }
        let payload: JSONValue
        do {
            payload = try JSONValue.parse(Array(data))
        } catch {
            throw ValidationError("\(file): \(error)")
        }
        let client = CrmClient(endpoint: try connection.endpoint(), shards: connection.shards, poolSize: 1)
        defer { Task { await client.close() } }
        let command = Envelope(type: MessageType.definitionPublish, kind: .command, tenant: tenant, actor: actor, payload: payload)
        let result: CommandResult
        do {
            result = try await client.send(command, timeout: .milliseconds(Int(timeout * 1000)))
        } catch {
            FileHandle.standardError.write(Data("crmctl: \(error)\n".utf8))
            throw ExitCode(2)
        }
        writeOut(Data((result.outcome.json + "\n").utf8))
        if !result.accepted { throw ExitCode(1) }
    }

    /// Registered Swift conditions and hooks live in the services, not here: stand-ins for the names
    /// the definition uses let everything else be checked; pipeline-service checks the names.
    static func placeholders(for definition: PipelineDefinition) -> ExtensionRegistry {
        var registry = ExtensionRegistry()
        for transition in definition.transitions {
            for name in transition.requires { registry.condition(name) { _ in true } }
            for name in transition.hooks.before { registry.before(name) { _ in .proceed } }
            for name in transition.hooks.after { registry.after(name) { _ in } }
        }
        return registry
    }
}
