import CrmKit
import Contracts
import CrmCore
import CrmRedis
import Hummingbird
import HTTPTypes
import RedisClient

/// Who a request acts as: the tenant and user of its API key.
struct Caller: Sendable {
    let tenant: String
    let user: String
    /// The key's SHA-256: what the rate limit counts by and the page forms' CSRF token derives from.
    let keyHash: String
    /// The user's teams in the directory: what the dashboard's "my team" view offers.
    var teams: [String] = []
}

extension GatewayRoutes {
    /// The caller an API key (`crm.<tenant>.<secret>`) stands for, or why it stands for none. Keys are
    /// looked up by their SHA-256 in the tenant's directory; the key's user must be active.
    func caller(forKey key: String) async throws -> Result<Caller, Refusal> {
        guard let tenant = APIKey.tenant(of: key), Identifier.isTenant(tenant) else { return .failure(Refusal("the API key is not one of this CRM's")) }
        let shard = client.router.keys(forTenant: tenant)
        let hash = Checksum.sha256(Array(key.utf8))
        guard let stored = try await store.fields([HashRead(shard.directory(tenant: tenant), ["k:\(hash)"])])[0][0],
              let apiKey = try? CrmStore.decode(APIKey.self, stored), apiKey.active else {
            return .failure(Refusal("unknown or revoked API key"))
        }
        guard let user = try await store.directory(shard: shard, tenant: tenant, user: apiKey.userId).user, user.active else {
            return .failure(Refusal("the API key's user is not active"))
        }
        return .success(Caller(tenant: tenant, user: apiKey.userId, keyHash: hash, teams: user.teams))
    }

    struct Refusal: Error {
        let message: String
        init(_ message: String) { self.message = message }
    }

    /// Runs `body` for a request with a working API key (`Authorization: Bearer crm.<tenant>.<secret>`),
    /// else answers 401; a key over its rate answers 429 with `Retry-After`.
    func authenticated(_ request: Request, _ body: (Caller) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            return unauthorized("send an API key: Authorization: Bearer crm.<tenant>.<secret> (crmctl apikey create)")
        }
        switch try await caller(forKey: String(header.dropFirst("Bearer ".count))) {
        case .failure(let refusal): return unauthorized(refusal.message)
        case .success(let caller):
            if let retryAfter = rateLimiter.admit(caller.keyHash) { return Self.tooManyRequests(retryAfter: retryAfter, limiter: rateLimiter) }
            return try await body(caller)
        }
    }

    /// An authenticated request under `/v1/tenants/{tenant}/…`: another tenant's data is not found, as if it did not exist.
    func scoped(_ request: Request, _ context: BasicRequestContext, _ body: (Caller) async throws -> Response) async throws -> Response {
        try await authenticated(request) { caller in
            let tenant = context.parameters.get("tenant") ?? ""
            guard Identifier.isTenant(tenant) else { return Responses.problem(.badRequest, "invalid_id", "bad tenant", field: "tenant") }
            guard tenant == caller.tenant else { return Responses.problem(.notFound, "not_found", "no such resource") }
            return try await body(caller)
        }
    }

    static func tooManyRequests(retryAfter: Int, limiter: RateLimiter) -> Response {
        var response = Responses.problem(.tooManyRequests, "rate_limited",
                                         "this API key is over its limit of \(limiter.perMinute) requests a minute (bursts of \(limiter.burst)); retry after \(retryAfter) s")
        response.headers[.retryAfter] = "\(retryAfter)"
        return response
    }

    private func unauthorized(_ message: String) -> Response {
        var response = Responses.problem(.unauthorized, "unauthorized", message)
        response.headers[.wwwAuthenticate] = "Bearer"
        return response
    }
}
