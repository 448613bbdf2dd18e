import Metrics
import Synchronization

/// Admission of calls in this process, per endpoint (a tenant's integration) and per tenant: the
/// endpoint's concurrency limit, its rate limit, its circuit breaker, and the tenant's rate limit.
/// A call that may not go now is deferred in the due set (its attempt given back), so a slow or
/// down endpoint holds back only its own calls, never a worker another endpoint's calls need.
public final class EndpointGate: Sendable {
    struct Endpoint {
        var breaker: CircuitBreaker
        var inFlight = 0
        var bucket: TokenBucket?
        var succeeded = 0
        var failed = 0
    }

    private let state = Mutex<(endpoints: [String: Endpoint], tenants: [String: TokenBucket])>(([:], [:]))
    private let breakerThreshold: Int
    private let breakerCooldownMilliseconds: Int
    private let tenantRatePerSecond: Double

    public init(breakerThreshold: Int, breakerCooldownMilliseconds: Int, tenantRatePerSecond: Double) {
        self.breakerThreshold = breakerThreshold
        self.breakerCooldownMilliseconds = breakerCooldownMilliseconds
        self.tenantRatePerSecond = tenantRatePerSecond
    }

    public enum Admission: Sendable, Equatable {
        case proceed
        case deferUntil(Int64, because: String)
    }

    /// Asks to start a call to `config` of `tenant` at `now`; a `.proceed` must be matched by `release`.
    func admit(tenant: String, config: IntegrationConfig, now: Int64) -> Admission {
        let key = "\(tenant)/\(config.name)"
        return state.withLock { state in
            var endpoint = state.endpoints[key] ?? Endpoint(breaker: CircuitBreaker(threshold: breakerThreshold, cooldownMilliseconds: breakerCooldownMilliseconds))
            defer { state.endpoints[key] = endpoint }
            if endpoint.bucket?.rate != config.ratePerSecond {
                endpoint.bucket = config.ratePerSecond.map { TokenBucket(ratePerSecond: $0, now: now) }
            }
            // A short wait: a slot frees as soon as one of the endpoint's calls ends.
            guard endpoint.inFlight < config.maxConcurrency else { return .deferUntil(now + 50, because: "concurrency") }
            // An open breaker is looked at first, so a held-back call spends no rate tokens.
            if endpoint.breaker.state == .open, now < endpoint.breaker.openUntil { return .deferUntil(endpoint.breaker.openUntil, because: "breaker_open") }
            if let next = endpoint.bucket?.take(now: now) { return .deferUntil(next, because: "rate") }
            if tenantRatePerSecond > 0 {
                var bucket = state.tenants[tenant] ?? TokenBucket(ratePerSecond: tenantRatePerSecond, now: now)
                defer { state.tenants[tenant] = bucket }
                if let next = bucket.take(now: now) { return .deferUntil(next, because: "tenant_rate") }
            }
            let admission = endpoint.breaker.admit(now: now)
            Self.report(endpoint.breaker.state, tenant: tenant, name: config.name)
            if case .waitUntil(let until) = admission { return .deferUntil(until, because: "breaker_open") }
            endpoint.inFlight += 1
            return .proceed
        }
    }

    func release(tenant: String, name: String, result: CallResultKind, now: Int64) {
        state.withLock { state in
            let key = "\(tenant)/\(name)"
            guard var endpoint = state.endpoints[key] else { return }
            endpoint.inFlight -= 1
            endpoint.breaker.record(result, now: now)
            Self.report(endpoint.breaker.state, tenant: tenant, name: name)
            let outcome = result == .success ? "succeeded" : (result == .transientFailure ? "failed_transient" : "failed_permanent")
            Counter(label: "crm_integration_attempts_total", dimensions: [("tenant", tenant), ("integration", name), ("result", outcome)]).increment()
            if result == .success { endpoint.succeeded += 1 } else { endpoint.failed += 1 }
            state.endpoints[key] = endpoint
        }
    }

    /// The breaker's state as a Prometheus gauge (0 closed, 1 half open, 2 open), which the heartbeat
    /// publishes with the other metrics and `crmctl integrations` reads.
    private static func report(_ state: CircuitBreaker.State, tenant: String, name: String) {
        let value: Int
        switch state {
        case .closed: value = 0
        case .halfOpen: value = 1
        case .open: value = 2
        }
        Gauge(label: "crm_integration_breaker_state", dimensions: [("tenant", tenant), ("integration", name)]).record(value)
    }

    /// Each endpoint's health as this process sees it, for the heartbeat and `crmctl integrations`.
    public func snapshot() -> [(endpoint: String, breaker: CircuitBreaker.State, inFlight: Int, succeeded: Int, failed: Int)] {
        state.withLock { state in
            state.endpoints.sorted { $0.key < $1.key }.map { ($0.key, $0.value.breaker.state, $0.value.inFlight, $0.value.succeeded, $0.value.failed) }
        }
    }
}
