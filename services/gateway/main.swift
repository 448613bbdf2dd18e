import ArgumentParser
import GatewayService
import ServiceKit

@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Nexus CRM gateway: the HTTP API over the command streams; see services/gateway/README.md."
    )

    @OptionGroup var options: ServiceOptions

    @Option(name: .customLong("http-host"), help: "Address to listen on (env CRM_HTTP_HOST).")
    var httpHost: String = Environment.string("CRM_HTTP_HOST") ?? "127.0.0.1"

    @Option(name: .customLong("http-port"), help: "Port to listen on; 0 picks a free one (env CRM_HTTP_PORT).")
    var httpPort: Int = Environment.int("CRM_HTTP_PORT") ?? 8080

    func validate() throws {
        guard (0...65535).contains(httpPort) else { throw ValidationError("--http-port (CRM_HTTP_PORT) must be 0…65535") }
    }

    func run() async throws {
        try await GatewayRunner.run(options: options, host: httpHost, port: httpPort)
    }
}
