import RedisClient

/// The one atomic write of a command (DESIGN §4): idempotency check, optimistic version checks,
/// record writes, events, the outcome event, the reply list and the idempotency mark. Everything is
/// validated before the first write, because Redis does not roll a script back.
///
/// KEYS: idempotency mark, events stream, reply list, source stream, one key per record write, then
///       one command stream per command emitted for another service.
/// ARGV: outcome ("" for a reaction to an event: no outcome, no reply, the mark holds "-"), mark TTL (s), reply TTL (s), write count, event count, group ("" = no ack), entry id,
///       per write: expected version ("0" = must not exist, "*" = any), new version, field count, field/value pairs…,
///       then the events, then the emitted commands, then the dashboard patches (`DashboardLua`).
/// Returns {"ok"}, {"replay", first outcome} or {"conflict", key, actual version}. "ok" and "replay"
/// also acknowledge the source entry, so the effect and the ack are one atomic step.
enum CommitScript {
    static let script = RedisScript(DashboardLua.apply + "\n" + """
    local function ack()
      if ARGV[6] ~= '' then redis.call('XACK', KEYS[4], ARGV[6], ARGV[7]) end
    end
    local prior = redis.call('GET', KEYS[1])
    if prior then
      if prior ~= '-' then
        redis.call('RPUSH', KEYS[3], prior)
        redis.call('EXPIRE', KEYS[3], ARGV[3])
      end
      ack()
      return {'replay', prior}
    end
    local writes = tonumber(ARGV[4])
    local events = tonumber(ARGV[5])
    local cursor = 8
    local plan = {}
    for i = 1, writes do
      local key = KEYS[4 + i]
      local expected = ARGV[cursor]
      local actual = redis.call('HGET', key, 'v') or '0'
      if expected ~= '*' and actual ~= expected then
        return {'conflict', key, actual}
      end
      local count = tonumber(ARGV[cursor + 2])
      plan[i] = {key, ARGV[cursor + 1], cursor + 3, count}
      cursor = cursor + 3 + 2 * count
    end
    local patches = cursor + events + (#KEYS - 4 - writes)
    for i = patches, #ARGV do dashboard_apply(ARGV[i], true) end
    for i = 1, writes do
      local step = plan[i]
      local args = {'v', step[2]}
      for f = 0, step[4] - 1 do
        args[#args + 1] = ARGV[step[3] + 2 * f]
        args[#args + 1] = ARGV[step[3] + 2 * f + 1]
      end
      redis.call('HSET', step[1], unpack(args))
    end
    for e = 0, events - 1 do
      redis.call('XADD', KEYS[2], '*', 'envelope', ARGV[cursor + e])
    end
    local emitted = #KEYS - 4 - writes
    for c = 1, emitted do
      redis.call('XADD', KEYS[4 + writes + c], '*', 'envelope', ARGV[cursor + events + c - 1])
    end
    for i = patches, #ARGV do dashboard_apply(ARGV[i], false) end
    if ARGV[1] ~= '' then
      redis.call('XADD', KEYS[2], '*', 'envelope', ARGV[1])
      redis.call('RPUSH', KEYS[3], ARGV[1])
      redis.call('EXPIRE', KEYS[3], ARGV[3])
      redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
    else
      redis.call('SET', KEYS[1], '-', 'EX', ARGV[2])
    end
    ack()
    return {'ok'}
    """)
}
