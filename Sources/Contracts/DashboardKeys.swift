extension ShardKeys {
    /// Prefix of a tenant's dashboard projection on its shard (DESIGN §3: every key carries the shard's
    /// hash tag, so the commit scripts that keep it stay single-slot):
    /// `rows` (hash: one compact JSON row per record, `lead:<id>`), `funnel` (hash: `<kind>:<stage>` =
    /// open records), and sorted sets of open records scored by creation time (`open`, `open:<kind>`,
    /// `stage:<kind>:<stage>`, `owner:<user>`, `team:<team>`, `sla:at_risk`, `sla:breached`, `approval`)
    /// or by SLA deadline (`due`).
    public func dashboard(tenant: String) -> String { "\(self.tenant(tenant)):dash:" }
}
