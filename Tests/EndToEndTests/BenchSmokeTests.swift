import Contracts
import Foundation
import TestSupport
import Testing

/// The short form of `make bench` inside `make test`: the benchmark commands run and report, with
/// tiny counts. Speeds are printed by `make bench`, never asserted (the machines are shared).
@Suite("bench, short form")
struct BenchSmokeTests {
    @Test("crmctl bench and bench-compile run against the real services and print their figures")
    func smoke() async throws {
        let deployment = try await Deployment()
        try await deployment.start("pipeline-service")
        let bench = try await deployment.crmctl(["bench", "--commands", "60", "--concurrency", "3", "--warmup", "6"])
        #expect(bench.status == 0, "\(bench.output)")
        let report = try JSONValue.parse(Array(bench.output.utf8))
        #expect(report["commands"] == 60 && report["p50_ms"]?.doubleValue != nil && report["throughput_per_s"]?.doubleValue != nil, "\(bench.output)")
        let created = try await deployment.envelopes(deployment.shard("bench").events).filter { $0.type == "lead.created" }
        #expect(created.count == 66, "every benchmark command had its effect, the warm-up's too")
        let compile = try await deployment.crmctl(["bench-compile", "--stages", "10", "--runs", "5"])
        let figures = try JSONValue.parse(Array(compile.output.utf8))
        #expect(compile.status == 0 && figures["transitions"] == 18 && figures["p99_us"]?.doubleValue != nil, "\(compile.output)")
        let gateway = try await deployment.crmctl(["bench-gateway", "--branches", "4", "--runs", "3"])
        let sync = try JSONValue.parse(Array(gateway.output.utf8))
        #expect(gateway.status == 0 && sync["runs"] == 3 && sync["sync_p50_ms"]?.doubleValue != nil, "\(gateway.output)")
        let joined = try await deployment.envelopes(deployment.shard("bench-gw").events).filter { $0.type == "gateway.joined" }
        #expect(joined.count == 3, "each campaign joined once")
        await deployment.stopAll()
    }
}
