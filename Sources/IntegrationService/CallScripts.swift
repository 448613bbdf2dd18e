import RedisClient

/// The Lua scripts of a call's life. Each is one atomic step, so a call is never lost between being
/// accepted, claimed and finished, and never reported twice.
enum CallScripts {
    /// Accepts a call with its command's outcome: idempotency check, the call record, its place in the
    /// due set, the outcome on the events stream and the reply list, the idempotency mark, the ack.
    /// KEYS: idempotency mark, events, reply list, source stream, call, due set.
    /// ARGV: outcome, mark TTL, reply TTL, group ("" = no ack), entry id, call document, raw command, due at (ms), member.
    /// Returns {"ok"} (scheduled: a new call, or a failed one sent again), {"exists"} (pending or
    /// succeeded: not scheduled again) or {"replay", first outcome}.
    static let accept = RedisScript("""
    local function ack()
      if ARGV[4] ~= '' then redis.call('XACK', KEYS[4], ARGV[4], ARGV[5]) end
    end
    local prior = redis.call('GET', KEYS[1])
    if prior then
      redis.call('RPUSH', KEYS[3], prior)
      redis.call('EXPIRE', KEYS[3], ARGV[3])
      ack()
      return {'replay', prior}
    end
    local state = redis.call('HGET', KEYS[5], 'state')
    local fresh = state == false or state == 'failed'
    if fresh then
      -- A new call, or one given up that is sent again: due now with a fresh budget, same key.
      redis.call('HSET', KEYS[5], 'd', ARGV[6], 'cmd', ARGV[7], 'state', 'pending', 'attempts', 0, 'lastError', '')
      redis.call('PERSIST', KEYS[5])
      redis.call('ZADD', KEYS[6], ARGV[8], ARGV[9])
    end
    redis.call('XADD', KEYS[2], '*', 'envelope', ARGV[1])
    redis.call('RPUSH', KEYS[3], ARGV[1])
    redis.call('EXPIRE', KEYS[3], ARGV[3])
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
    ack()
    if fresh then return {'ok'} end
    return {'exists'}
    """)

    /// Claims due calls for one worker: each is leased (its due time moved to the lease's end, so it
    /// comes due again if the worker dies) and its attempt counted. Finished calls found in the set are dropped.
    /// KEYS: due set. ARGV: now (ms), lease end (ms), most to claim, call key prefix.
    /// Returns member, attempt, member, attempt, …
    static let claim = RedisScript("""
    local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
    local claimed = {}
    for _, member in ipairs(due) do
      local key = ARGV[4] .. member
      if redis.call('HGET', key, 'state') == 'pending' then
        redis.call('ZADD', KEYS[1], ARGV[2], member)
        claimed[#claimed + 1] = member
        claimed[#claimed + 1] = redis.call('HINCRBY', key, 'attempts', 1)
      else
        redis.call('ZREM', KEYS[1], member)
      end
    end
    return claimed
    """)

    /// Ends one attempt. A success counts whoever reports it first (the call did happen); the other
    /// verdicts count only from the attempt that holds the call now, so a worker whose lease ran out
    /// cannot undo its successor's work.
    /// KEYS: call, due set, events, dlq.
    /// ARGV: verdict (success | retry | defer | fail | fail_quietly), member, attempt, event ("" = none), next due (ms),
    ///       last error, finished-call TTL (s), then the DLQ entry's field/value pairs (fail only).
    /// Returns "ok" or "stale".
    static let finish = RedisScript("""
    if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then return 'stale' end
    local verdict = ARGV[1]
    if verdict ~= 'success' and redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[3] then return 'stale' end
    if verdict == 'retry' then
      redis.call('HSET', KEYS[1], 'lastError', ARGV[6])
      redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])
      return 'ok'
    end
    if verdict == 'defer' then
      redis.call('HINCRBY', KEYS[1], 'attempts', -1)
      redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])
      return 'ok'
    end
    local state = 'failed'
    if verdict == 'success' then state = 'succeeded' end
    redis.call('HSET', KEYS[1], 'state', state, 'lastError', ARGV[6])
    redis.call('ZREM', KEYS[2], ARGV[2])
    if ARGV[4] ~= '' then redis.call('XADD', KEYS[3], '*', 'envelope', ARGV[4]) end
    if verdict == 'fail' and #ARGV > 7 then
      local fields = {}
      for i = 8, #ARGV do fields[#fields + 1] = ARGV[i] end
      redis.call('XADD', KEYS[4], '*', unpack(fields))
    end
    redis.call('EXPIRE', KEYS[1], ARGV[7])
    return 'ok'
    """)
}
