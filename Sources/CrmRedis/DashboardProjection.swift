public import Contracts
public import CrmCore
public import RedisClient

/// One change to a record's dashboard row, applied by the same script that commits the fact it
/// follows (a stage change, an assignment, an approval, an SLA mark), so the projection never lags
/// the records and never needs a scan. Only the fields set are changed.
public struct DashboardPatch: Sendable, Equatable {
    /// `ShardKeys.dashboard(tenant:)`: the projection's key prefix, with the shard's hash tag.
    public var prefix: String
    /// `lead:<id>` or `opportunity:<id>`.
    public var member: String
    public var kind: String?
    public var stage: String?
    /// Open (not in a terminal stage): only open records are pending, indexed and counted.
    public var open: Bool?
    /// Creation time (ms); kept from the first patch that sets it.
    public var createdAt: Int64?
    public var owner: String?
    /// "" = no team.
    public var team: String?
    /// `on_track`, `at_risk`, `breached`; a worse status wins over a better one until the stage changes.
    public var sla: SlaStatus?
    /// The earliest SLA deadline (ms) of the record's running clocks.
    public var slaDue: Int64?
    /// Clears the deadline (a paused clock).
    public var clearSlaDue = false
    /// Added to the count of pending approvals.
    public var approvalDelta = 0
    /// Applied only while the row's stage is this one (an SLA mark of a stage the record has left is stale).
    public var onlyAtStage: String?

    public enum SlaStatus: String, Sendable, CaseIterable {
        case onTrack = "on_track", atRisk = "at_risk", breached
    }

    public init(prefix: String, member: String) {
        self.prefix = prefix
        self.member = member
    }

    /// The row of a lead or opportunity as pipeline-service writes it.
    public static func record(shard: ShardKeys, tenant: String, entity: EntityKind, record: PipelineRecord,
                              definition: CompiledDefinition?, at occurredAt: String) -> DashboardPatch {
        var patch = DashboardPatch(prefix: shard.dashboard(tenant: tenant), member: "\(entity.rawValue):\(record.id)")
        patch.kind = entity.rawValue
        patch.stage = record.stage
        patch.open = definition?.source.stages.first { $0.name == record.stage }?.terminal == nil
        patch.createdAt = milliseconds(occurredAt)
        return patch
    }

    /// Who owns a record now, and the team it counts for.
    public static func owner(shard: ShardKeys, tenant: String, subject: String, owner: String, team: String?) -> DashboardPatch {
        var patch = DashboardPatch(prefix: shard.dashboard(tenant: tenant), member: subject)
        patch.owner = owner
        patch.team = team ?? ""
        return patch
    }

    /// An approval requested (+1) or decided (-1) on a record.
    public static func approvals(shard: ShardKeys, tenant: String, subject: String, delta: Int) -> DashboardPatch {
        var patch = DashboardPatch(prefix: shard.dashboard(tenant: tenant), member: subject)
        patch.approvalDelta = delta
        return patch
    }

    /// What an SLA event (`sla.started`, `sla.resumed`, `sla.paused`, `sla.at_risk`, `sla.breached`)
    /// changes in its record's row; nil for any other event.
    public static func sla(_ event: Envelope, shard: ShardKeys) -> DashboardPatch? {
        let payload = event.payload
        guard let entity = payload["entity"]?.stringValue, let id = payload["recordId"]?.stringValue, let stage = payload["stage"]?.stringValue
        else { return nil }
        var patch = DashboardPatch(prefix: shard.dashboard(tenant: event.tenant), member: "\(entity):\(id)")
        patch.onlyAtStage = stage
        let deadline = payload["deadline"]?.stringValue.flatMap(milliseconds)
        switch event.type {
        case MessageType.slaStarted, MessageType.slaResumed:
            patch.sla = .onTrack
            patch.slaDue = deadline
        case MessageType.slaPaused: patch.clearSlaDue = true
        case MessageType.slaAtRisk: patch.sla = .atRisk
        case MessageType.slaBreached: patch.sla = .breached
        default: return nil
        }
        return patch
    }

    /// The patch as the Lua function `dashboard_apply` reads it (cjson), with short names.
    public func encoded() -> [UInt8] {
        var object: [String: JSONValue] = ["k": .string(prefix), "m": .string(member)]
        if let kind { object["kd"] = .string(kind) }
        if let stage { object["s"] = .string(stage) }
        if let open { object["o"] = .integer(open ? 1 : 0) }
        if let createdAt { object["c"] = .integer(createdAt) }
        if let owner { object["u"] = .string(owner) }
        if let team { object["t"] = .string(team) }
        if let sla { object["a"] = .string(sla.rawValue) }
        if let slaDue { object["d"] = .integer(slaDue) }
        if clearSlaDue { object["dc"] = .integer(1) }
        if approvalDelta != 0 { object["pa"] = .integer(Int64(approvalDelta)) }
        if let onlyAtStage { object["gs"] = .string(onlyAtStage) }
        return JSONValue.object(object).compactJSON
    }

    static func milliseconds(_ text: String) -> Int64? {
        RFC3339.seconds(text).map { Int64(($0 * 1000).rounded()) }
    }
}

/// The Lua that keeps the projection, included by every script that commits a fact it follows.
/// Keys are built from the patch's prefix, which carries the shard's hash tag like every other key
/// of the script, so the script stays within one Redis Cluster slot.
enum DashboardLua {
    static let apply = """
    local function dashboard_entries(P, r)
      local e = {}
      if r.o ~= 1 or not r.s or not r.kd then return e end
      local c = r.c or 0
      e[P .. 'open'] = c
      e[P .. 'open:' .. r.kd] = c
      e[P .. 'stage:' .. r.kd .. ':' .. r.s] = c
      if r.u and r.u ~= '' then e[P .. 'owner:' .. r.u] = c end
      if r.t and r.t ~= '' then e[P .. 'team:' .. r.t] = c end
      if r.a == 'at_risk' or r.a == 'breached' then e[P .. 'sla:' .. r.a] = c end
      if (r.p or 0) > 0 then e[P .. 'approval'] = c end
      if r.d then e[P .. 'due'] = r.d end
      return e
    end
    local dashboard_rank = {on_track = 1, at_risk = 2, breached = 3}
    local dashboard_checked = {}
    local function dashboard_expect(key, kind)
      local found = redis.call('TYPE', key)['ok']
      if found ~= 'none' and found ~= kind then error('dashboard key ' .. key .. ' holds a ' .. found .. ', not a ' .. kind) end
    end
    -- Applies one patch. With `check` it writes nothing: it reads the type of every key the real run
    -- will write, so a key of the wrong type, or one this node does not hold (its slot being migrated
    -- in a Redis Cluster), fails the script before its first write; scripts check every patch first.
    local function dashboard_apply(raw, check)
      local p = cjson.decode(raw)
      local P, member = p.k, p.m
      local seen = P .. member
      local stored
      if check and dashboard_checked[seen] then stored = dashboard_checked[seen] else stored = redis.call('HGET', P .. 'rows', member) end
      -- A row that no longer decodes is rebuilt from this patch on: a script must not fail after its first write.
      local decoded, row = false, nil
      if stored then decoded, row = pcall(cjson.decode, stored) end
      if not decoded or type(row) ~= 'table' then row = {} end
      if p.gs and row.s ~= p.gs then return end
      local before = {}
      for k, v in pairs(row) do before[k] = v end
      if p.s then
        if row.s and row.s ~= p.s then row.a = nil; row.d = nil end
        row.s = p.s
      end
      if p.kd then row.kd = p.kd end
      if p.o then row.o = p.o end
      if p.c and not row.c then row.c = p.c end
      if p.u then row.u = p.u end
      if p.t then row.t = p.t end
      if p.a and (dashboard_rank[p.a] or 0) >= (dashboard_rank[row.a] or 0) then row.a = p.a end
      if p.d then row.d = p.d end
      if p.dc then row.d = nil end
      if p.pa then row.p = math.max(0, (row.p or 0) + p.pa) end
      local was, now = dashboard_entries(P, before), dashboard_entries(P, row)
      if check then
        for key in pairs(was) do dashboard_expect(key, 'zset') end
        for key in pairs(now) do dashboard_expect(key, 'zset') end
        dashboard_expect(P .. 'funnel', 'hash')
        dashboard_expect(P .. 'rows', 'hash')
        dashboard_checked[seen] = cjson.encode(row)
        return
      end
      for key in pairs(was) do
        if now[key] == nil then redis.call('ZREM', key, member) end
      end
      for key, score in pairs(now) do
        if was[key] ~= score then redis.call('ZADD', key, score, member) end
      end
      local fo = before.o == 1 and before.s and before.kd and (before.kd .. ':' .. before.s) or nil
      local fn = row.o == 1 and row.s and row.kd and (row.kd .. ':' .. row.s) or nil
      if fo ~= fn then
        if fo then redis.call('HINCRBY', P .. 'funnel', fo, -1) end
        if fn then redis.call('HINCRBY', P .. 'funnel', fn, 1) end
      end
      redis.call('HSET', P .. 'rows', member, cjson.encode(row))
    end
    """
}

/// Applies patches outside a command's commit: to load a projection for a benchmark, or to rebuild
/// rows for records written before the projection existed. Every patch must be of one shard.
public enum DashboardLoader {
    static let bulk = RedisScript(DashboardLua.apply + "\n" + """
    for i = 1, #ARGV do dashboard_apply(ARGV[i], true) end
    for i = 1, #ARGV do dashboard_apply(ARGV[i], false) end
    return #ARGV
    """)

    /// Applies the patches in one script run; `anyKeyOfTheShard` names the slot (its hash tag).
    public static func apply(_ patches: [DashboardPatch], pool: RedisPool, anyKeyOfTheShard: String) async throws {
        guard !patches.isEmpty else { return }
        try await pool.evaluate(bulk, keys: [anyKeyOfTheShard], arguments: patches.map { $0.encoded() as any RedisArgumentConvertible })
    }
}
