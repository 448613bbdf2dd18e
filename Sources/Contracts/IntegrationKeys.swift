/// integration-service's keys. They live under `crm:{sN}:integration:` rather than the tenant prefix
/// `crm:{sN}:t:` because endpoint secrets are stored here, and readers of tenant data (the gateway)
/// must not see them.
extension ShardKeys {
    /// Prefix of integration-service's keys on this shard.
    public var integrationPrefix: String { "crm:\(tag):integration" }
    /// A tenant's configured integrations: `v` and one `i:<name>` JSON each (secrets included).
    public func integrations(tenant: String) -> String { "\(integrationPrefix):config:\(tenant)" }
    /// One call: its document `d`, `state`, `attempts`, the command's raw envelope `cmd`, `lastError`.
    public func integrationCall(tenant: String, callID: String) -> String { "\(integrationPrefix):call:\(tenant):\(callID)" }
    /// Prefix of call keys, for scripts that name a call by its member `<tenant>:<callId>`.
    public var integrationCallPrefix: String { "\(integrationPrefix):call:" }
    /// The shard's calls that are due (sorted set of `<tenant>:<callId>`, scored by due time in ms):
    /// new calls, retries after their backoff, and calls whose lease ran out (their worker died).
    public var integrationDue: String { "\(integrationPrefix):due" }
}
