import RedisClient

/// The Lua scripts of the durable timers. Each runs atomically on one shard's keys.
enum TimerScripts {
    /// Lua: forget fired and cancelled timers older than the retention (a bounded number per call).
    private static let prune = """
    local function prune(done, data, now, retention)
      local old = redis.call('ZRANGEBYSCORE', done, '-inf', now - retention, 'LIMIT', 0, 100)
      if #old > 0 then
        redis.call('HDEL', data, unpack(old))
        redis.call('ZREM', done, unpack(old))
      end
    end
    """

    /// A command's or an event reaction's whole effect on timers: idempotency check, preconditions on
    /// the timers it touches, schedule/cancel, events (optionally only if a timer was still active),
    /// the outcome with its reply list, the idempotency mark and the acknowledgement.
    ///
    /// KEYS: idempotency mark, events, reply list, source stream, due, leased, data, done, SLA clocks.
    /// ARGV: outcome ('' = none), mark TTL s, reply TTL s, group ('' = no ack), entry id, now ms,
    ///       retention ms, op count, event count; per op: kind (schedule | put | cancel | cancel? |
    ///       clock | unclock), member (a timer, or for clock ops a field of the clocks hash), due ms (for
    ///       clock: a guard member, '' = always), JSON; per event: guard member ('' = always), envelope,
    ///       dashboard patch ('' = none; applied only if the event is written).
    /// Returns {'ok', indexes of the events written…}, {'replay', first outcome} or {'conflict', member, state}.
    static let commit = RedisScript(prune + "\n" + DashboardLua.apply + "\n" + """
    local function ack()
      if ARGV[4] ~= '' then redis.call('XACK', KEYS[4], ARGV[4], ARGV[5]) end
    end
    local prior = redis.call('GET', KEYS[1])
    if prior then
      if ARGV[1] ~= '' then
        redis.call('RPUSH', KEYS[3], prior)
        redis.call('EXPIRE', KEYS[3], ARGV[3])
      end
      ack()
      return {'replay', prior}
    end
    local function active(member)
      return (redis.call('ZSCORE', KEYS[5], member) or redis.call('ZSCORE', KEYS[6], member)) and true or false
    end
    local ops = tonumber(ARGV[8])
    local events = tonumber(ARGV[9])
    local base = 10
    local was = {}
    for i = 0, ops - 1 do
      local kind, member = ARGV[base + 4 * i], ARGV[base + 4 * i + 1]
      if kind == 'clock' or kind == 'unclock' then member = ARGV[base + 4 * i + 2] end
      if member ~= '' and was[member] == nil then was[member] = active(member) end
      if kind == 'schedule' and was[member] then return {'conflict', member, 'active'} end
      if kind == 'cancel' and not was[member] then return {'conflict', member, 'inactive'} end
    end
    local eventBase = base + 4 * ops
    for e = 0, events - 1 do
      local guard = ARGV[eventBase + 3 * e]
      if guard ~= '' and was[guard] == nil then was[guard] = active(guard) end
      if ARGV[eventBase + 3 * e + 2] ~= '' then dashboard_apply(ARGV[eventBase + 3 * e + 2], true) end
    end
    for i = 0, ops - 1 do
      local kind, member, due, json = ARGV[base + 4 * i], ARGV[base + 4 * i + 1], ARGV[base + 4 * i + 2], ARGV[base + 4 * i + 3]
      if kind == 'schedule' or kind == 'put' then
        redis.call('ZREM', KEYS[8], member)
        redis.call('ZREM', KEYS[6], member)
        redis.call('ZADD', KEYS[5], due, member)
        redis.call('HSET', KEYS[7], member, json)
      elseif kind == 'clock' then
        if due == '' or was[due] then redis.call('HSET', KEYS[9], member, json) end
      elseif kind == 'unclock' then
        redis.call('HDEL', KEYS[9], member)
      elseif was[member] then
        redis.call('ZREM', KEYS[5], member)
        redis.call('ZREM', KEYS[6], member)
        redis.call('HSET', KEYS[7], member, json)
        redis.call('ZADD', KEYS[8], ARGV[6], member)
      end
    end
    local written = {'ok'}
    for e = 0, events - 1 do
      local guard = ARGV[eventBase + 3 * e]
      if guard == '' or was[guard] then
        redis.call('XADD', KEYS[2], '*', 'envelope', ARGV[eventBase + 3 * e + 1])
        if ARGV[eventBase + 3 * e + 2] ~= '' then dashboard_apply(ARGV[eventBase + 3 * e + 2], false) end
        written[#written + 1] = tostring(e)
      end
    end
    if ARGV[1] ~= '' then
      redis.call('XADD', KEYS[2], '*', 'envelope', ARGV[1])
      redis.call('RPUSH', KEYS[3], ARGV[1])
      redis.call('EXPIRE', KEYS[3], ARGV[3])
      redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
    else
      redis.call('SET', KEYS[1], 'handled', 'EX', ARGV[2])
    end
    prune(KEYS[8], KEYS[7], tonumber(ARGV[6]), tonumber(ARGV[7]))
    ack()
    return written
    """)

    /// Claims up to `limit` timers: first those whose lease expired (their consumer died), then due
    /// ones, moving each to the leased set scored by the new lease's expiry, which is also the
    /// claim's token (a later claim of the same timer always has a later expiry).
    ///
    /// KEYS: due, leased, data. ARGV: now ms, lease ms, limit.
    /// Returns {expiry, reclaimed count, next wake ms or '', member, timer JSON, member, timer JSON…}.
    static let claim = RedisScript("""
    local now = tonumber(ARGV[1])
    local expiry = now + tonumber(ARGV[2])
    local limit = tonumber(ARGV[3])
    local members = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)
    local reclaimed = #members
    if #members < limit then
      local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit - #members)
      if #due > 0 then
        redis.call('ZREM', KEYS[1], unpack(due))
        for _, member in ipairs(due) do members[#members + 1] = member end
      end
    end
    local out = {tostring(expiry), tostring(reclaimed), ''}
    for _, member in ipairs(members) do
      redis.call('ZADD', KEYS[2], expiry, member)
      out[#out + 1] = member
      out[#out + 1] = redis.call('HGET', KEYS[3], member) or ''
    end
    local wake = nil
    local nextDue = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    if #nextDue > 0 then wake = tonumber(nextDue[2]) end
    local nextLease = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    if #nextLease > 0 and (wake == nil or tonumber(nextLease[2]) < wake) then wake = tonumber(nextLease[2]) end
    if wake then out[3] = string.format('%.0f', wake) end
    return out
    """)

    /// Completes claimed timers: for each one still held under this claim's lease, writes its events,
    /// marks it fired and releases it, all at once; a timer whose lease was taken over or that was
    /// cancelled meanwhile is skipped, so a timer's events are written once.
    ///
    /// KEYS: events, leased, data, done. ARGV: lease expiry, now ms, retention ms, timer count;
    /// per timer: member, fired JSON, event count, envelopes…, one dashboard patch per envelope ('' = none).
    /// Returns the number of timers fired.
    static let complete = RedisScript(prune + "\n" + DashboardLua.apply + "\n" + """
    local expiry = tonumber(ARGV[1])
    local cursor = 5
    local fired = 0
    for _ = 1, tonumber(ARGV[4]) do
      local count = tonumber(ARGV[cursor + 2])
      for e = 1, count do
        if ARGV[cursor + 2 + count + e] ~= '' then dashboard_apply(ARGV[cursor + 2 + count + e], true) end
      end
      cursor = cursor + 3 + 2 * count
    end
    cursor = 5
    for _ = 1, tonumber(ARGV[4]) do
      local member, json, count = ARGV[cursor], ARGV[cursor + 1], tonumber(ARGV[cursor + 2])
      local held = redis.call('ZSCORE', KEYS[2], member)
      if held and tonumber(held) == expiry then
        for e = 1, count do redis.call('XADD', KEYS[1], '*', 'envelope', ARGV[cursor + 2 + e]) end
        for e = 1, count do
          if ARGV[cursor + 2 + count + e] ~= '' then dashboard_apply(ARGV[cursor + 2 + count + e], false) end
        end
        redis.call('ZREM', KEYS[2], member)
        redis.call('HSET', KEYS[3], member, json)
        redis.call('ZADD', KEYS[4], ARGV[2], member)
        fired = fired + 1
      end
      cursor = cursor + 3 + 2 * count
    end
    prune(KEYS[4], KEYS[3], tonumber(ARGV[2]), tonumber(ARGV[3]))
    return fired
    """)
}
