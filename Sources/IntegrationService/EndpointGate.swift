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
            if case .waitUntil(let until) = endpoint.breaker.admit(now: now) { return .deferUntil(until, because: "breaker_open") }
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
            if result == .success { endpoint.succeeded += 1 } else { endpoint.failed += 1 }
            state.endpoints[key] = endpoint
        }
    }

    /// Each endpoint's health as this process sees it, for the heartbeat and `crmctl integrations`.
    public func snapshot() -> [(endpoint: String, breaker: CircuitBreaker.State, inFlight: Int, succeeded: Int, failed: Int)] {
        state.withLock { state in
            state.endpoints.sorted { $0.key < $1.key }.map { ($0.key, $0.value.breaker.state, $0.value.inFlight, $0.value.succeeded, $0.value.failed) }
        }
    }
}
