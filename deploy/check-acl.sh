#!/usr/bin/env bash
# Checks deploy/users.acl against a throwaway Redis: every service user can do what it needs
# and nothing it must not. Safe for CI: the server listens on a unix socket in a fresh temp
# directory (no TCP port), and is always stopped on exit.
#
#   deploy/check-acl.sh [USERS_ACL]        default: users.acl next to this script
#
# Environment: REDIS_SERVER, REDIS_CLI (default: from PATH).
# The server starts with deploy/redis.conf (when present) so the production settings are
# loaded too; only paths, the port and snapshots are overridden.
# The rules are what is checked, not the secrets: in the temporary copy every user's password
# is set to its development password ("<user>-dev-secret"), so a file with production hashes
# can be checked as well.
# Prints one line per check, then "acl: N passed, M failed"; exits 1 on any failure.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
acl_src=${1:-$here/users.acl}
conf=$here/redis.conf
server=${REDIS_SERVER:-redis-server}
cli=${REDIS_CLI:-redis-cli}

for tool in "$server" "$cli" sha256sum; do
    command -v "$tool" >/dev/null || { echo "check-acl: $tool not found" >&2; exit 2; }
done
[[ -r $acl_src ]] || { echo "check-acl: cannot read $acl_src" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nexus-crm-acl.XXXXXX")
sock=$tmp/redis.sock
server_pid=
cleanup() {
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null
        wait "$server_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dev_hash() { printf '%s' "$1-dev-secret" | sha256sum | cut -d' ' -f1; }

# --- temporary copy of the ACL file, passwords normalised to the development ones ------------
dev_users=0
total_users=0
while IFS= read -r line || [[ -n $line ]]; do
    read -r -a words <<<"$line"
    if [[ ${#words[@]} -lt 2 || ${words[0]} != user ]]; then
        printf '%s\n' "$line"
        continue
    fi
    name=${words[1]}
    [[ $name != default ]] && total_users=$((total_users + 1))
    out=(user "$name")
    replaced=0
    for word in "${words[@]:2}"; do
        case $word in
            \#*|\>*|nopass)
                if [[ $name != default ]]; then
                    [[ $word == "#$(dev_hash "$name")" ]] && dev_users=$((dev_users + 1))
                    [[ $replaced == 0 ]] && out+=("#$(dev_hash "$name")")
                    replaced=1
                    continue
                fi
                ;;
        esac
        out+=("$word")
    done
    printf '%s\n' "${out[*]}"
done <"$acl_src" >"$tmp/users.acl"
# A user of the check's own, only in this temporary copy, to ask ACL DRYRUN about the others.
echo "user acl-checker on #$(dev_hash acl-checker) ~* &* +@all" >>"$tmp/users.acl"

# --- start the server ---------------------------------------------------------------------------
args=()
[[ -r $conf ]] && args+=("$conf")
args+=(--port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$tmp"
       --pidfile "$tmp/redis.pid" --logfile "$tmp/redis.log" --daemonize no --supervised no
       --aclfile "$tmp/users.acl" --save '')
"$server" "${args[@]}" &
server_pid=$!

for _ in $(seq 100); do
    [[ -S $sock ]] && "$cli" -s "$sock" PING 2>/dev/null | grep -q -e PONG -e NOAUTH && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        server_pid=
        echo "check-acl: redis-server did not start; its log:" >&2
        cat "$tmp/redis.log" >&2 2>/dev/null
        exit 1
    fi
    sleep 0.05
done
[[ -S $sock ]] || { echo "check-acl: redis-server did not open $sock" >&2; exit 1; }

# --- helpers --------------------------------------------------------------------------------------
passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'ok   %s\n' "$1"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$1"; [[ -n ${2:-} ]] && printf '       %s\n' "$2"; }

# run USER ARGS...: one command as USER ("-" = no authentication); human-readable reply on stdout.
run() {
    local who=$1; shift
    if [[ $who == - ]]; then
        "$cli" -s "$sock" --no-raw "$@" 2>&1
    else
        "$cli" -s "$sock" --no-raw --user "$who" --pass "$who-dev-secret" --no-auth-warning "$@" 2>&1
    fi
}
# value USER ARGS...: raw reply (for ids and script hashes).
value() {
    local who=$1; shift
    "$cli" -s "$sock" --raw --user "$who" --pass "$who-dev-secret" --no-auth-warning "$@" 2>&1
}
is_error() { grep -q -e '^(error)' -e 'AUTH failed' <<<"$1"; }
is_denied() { grep -q -e 'NOPERM' -e 'no permissions' -e "can't access" -e "can't run" <<<"$1"; }

# allow USER ARGS...: the command must succeed.
allow() {
    local who=$1; shift
    local out; out=$(run "$who" "$@")
    if is_error "$out"; then fail "$who may: $*" "$out"; else pass "$who may: $*"; fi
}
# deny USER ARGS...: the command must be refused by the ACL.
deny() {
    local who=$1; shift
    local out; out=$(run "$who" "$@")
    if is_denied "$out"; then pass "$who may not: $*"; else fail "$who may not: $*" "$out"; fi
}
# allow_tx USER CMD...: a MULTI/EXEC transaction of the given command lines must succeed.
allow_tx() {
    local who=$1; shift
    local out; out=$(printf '%s\n' MULTI "$@" EXEC | run "$who")
    if is_error "$out"; then fail "$who may run a transaction: $*" "$out"; else pass "$who may run a transaction: $*"; fi
}
# load USER SCRIPT: SCRIPT LOAD as USER, prints the sha (empty on failure).
load() {
    local out; out=$(value "$1" SCRIPT LOAD "$2")
    if [[ $out =~ ^[0-9a-f]{40}$ ]]; then pass "$1 may: SCRIPT LOAD"; printf '%s' "$out" >"$tmp/sha"
    else fail "$1 may: SCRIPT LOAD" "$out"; : >"$tmp/sha"; fi
}
sha() { cat "$tmp/sha"; }

S='crm:{s2}'
ENV='{"id":"m1","type":"lead.create","version":1,"kind":"command","tenant":"acme","actor":"u-1","payload":{}}'

# Scripts shaped like the engine's own: validate, change state, emit, mark, reply, in one call.
COMMIT='
local v = tonumber(redis.call("HGET", KEYS[1], "version") or "0")
redis.call("HSET", KEYS[1], "stage", "qualified", "version", v + 1)
local t = redis.call("TIME")
redis.call("XADD", KEYS[2], "*", "envelope", ARGV[1])
redis.call("SET", KEYS[3], "1", "EX", 86400, "NX")
redis.call("RPUSH", KEYS[4], ARGV[1])
redis.call("EXPIRE", KEYS[4], 300)
for i = 5, #KEYS do redis.call("XADD", KEYS[i], "*", "envelope", ARGV[1]) end
return v + 1'
HSET_KEY1='return redis.call("HSET", KEYS[1], "f", "v")'
XADD_KEY1='return redis.call("XADD", KEYS[1], "*", "envelope", "{}")'
# Writes a key it did not declare: the inner command is still checked against the caller's ACL.
SNEAKY_HSET='return redis.call("HSET", "crm:{s2}:t:acme:lead:L1", "owner", "mallory")'
SNEAKY_XADD='return redis.call("XADD", "crm:{s2}:audit", "*", "envelope", "{}")'
AUDIT_APPEND='
local prev = redis.call("HGET", KEYS[2], "hash") or ""
local seq = redis.call("HINCRBY", KEYS[2], "seq", 1)
redis.call("XADD", KEYS[1], "*", "envelope", ARGV[1], "seq", seq, "hash", ARGV[2], "prev", prev)
redis.call("HSET", KEYS[2], "hash", ARGV[2])
redis.call("ZADD", KEYS[3], seq, ARGV[2])
redis.call("SET", KEYS[4], "1", "EX", 86400)
redis.call("XACK", KEYS[5], "audit", ARGV[3])
return seq'
TIMER_CLAIM='
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, 10)
for _, t in ipairs(due) do
  redis.call("ZADD", KEYS[1], "XX", ARGV[1] + 30000, t)
  redis.call("XADD", KEYS[2], "*", "envelope", t)
end
return #due'

# Leases due calls, touching each call's hash (same slot) by a prefix, as integration-service does.
CALL_CLAIM='
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, 10)
for _, m in ipairs(due) do
  redis.call("ZADD", KEYS[1], ARGV[1] + 30000, m)
  redis.call("HINCRBY", ARGV[2] .. m, "attempts", 1)
end
return #due'

# --- static checks on the file itself ----------------------------------------------------------------
# The service users are checked; the default user is special (below).
static() {
    local label=$1 pattern=$2
    if grep -v -E '^user default ' "$acl_src" | grep -n -E -e "$pattern" >/dev/null; then
        fail "users.acl: $label" "$(grep -v -E '^user default ' "$acl_src" | grep -n -E -e "$pattern" | cut -c1-160)"
    else
        pass "users.acl: $label"
    fi
}
static "no +@all / allcommands" '(\+@all|allcommands)( |\)|$)'
static "no +@dangerous / +@admin" '\+@(dangerous|admin)( |\)|$)'
static "no server-wide commands (flushall, flushdb, config, debug, keys, shutdown, acl, module, monitor)" \
    '\+(flushall|flushdb|config|debug|keys|shutdown|acl|module|monitor|eval|eval_ro)(\||[ )]|$)'
static "no passwordless user" '(^| )nopass( |$)'
static "no access to all keys or channels" '(^| |\()(allkeys|allchannels|~\*|%R~\*|%W~\*|&\*)( |\)|$)'
# Nobody may log in as default (off, no password), yet its rights stay whole: Redis 7.0 replays
# the AOF as the default user and re-checks ACLs at each EXEC, so a default user without rights
# silently drops every MULTI/EXEC block (every Lua script's effects) when the AOF is loaded.
if grep -q -E '^user default off resetpass ' "$acl_src" && ! grep -E '^user default ' "$acl_src" | grep -q -E '(^| )(nopass|>|#)'; then
    pass "users.acl: default user is off and has no password"
else fail "users.acl: default user is off and has no password" "$(grep -E '^user default ' "$acl_src")"; fi
if grep -q -E '^user default .*\+@all' "$acl_src"; then pass "users.acl: default user keeps the rights the AOF replay needs"
else fail "users.acl: default user keeps the rights the AOF replay needs" "AOF loading replays MULTI/EXEC as the default user"; fi
if [[ -r $conf ]]; then
    if grep -q -E '^protected-mode yes' "$conf" && ! grep -q -E '^protected-mode no' "$conf"; then
        pass "redis.conf: protected-mode yes"
    else fail "redis.conf: protected-mode yes"; fi
    if grep -q -E '^maxmemory-policy noeviction' "$conf"; then pass "redis.conf: maxmemory-policy noeviction"
    else fail "redis.conf: maxmemory-policy noeviction"; fi
fi

# --- default user and bad passwords -------------------------------------------------------------------
out=$(run - PING)
if grep -q NOAUTH <<<"$out"; then pass "unauthenticated connection is refused"; else fail "unauthenticated connection is refused" "$out"; fi
out=$("$cli" -s "$sock" --no-raw --user default --pass '' --no-auth-warning PING 2>&1)
if grep -q -e WRONGPASS -e NOAUTH <<<"$out"; then pass "default user is refused"; else fail "default user is refused" "$out"; fi
out=$("$cli" -s "$sock" --no-raw --user pipeline --pass wrong --no-auth-warning PING 2>&1)
if grep -q -e WRONGPASS -e NOAUTH <<<"$out"; then pass "wrong password is refused"; else fail "wrong password is refused" "$out"; fi

# --- everyone: connection commands allowed, server-wide commands refused ------------------------------
for u in pipeline assignment sla integration audit gateway crmctl; do
    allow "$u" PING
    allow "$u" HELLO 3
    allow "$u" CLIENT SETNAME "$u-check"
    allow "$u" SELECT 0
    deny "$u" FLUSHALL
    deny "$u" FLUSHDB
    deny "$u" KEYS '*'
    deny "$u" CONFIG GET maxmemory
    deny "$u" ACL LIST
    deny "$u" SCRIPT FLUSH
    deny "$u" EVAL 'return 1' 0
    deny "$u" PUBLISH chan x
    deny "$u" SET unrelated-key x
done

# --- gateway writes commands first, so consumers have something to read --------------------------------
for n in 0 1 2 3; do
    allow pipeline XGROUP CREATE "crm:{s$n}:cmd:pipeline" pipeline '$' MKSTREAM
done
allow gateway XADD "$S:cmd:pipeline" '*' envelope "$ENV"
allow gateway XADD "$S:cmd:assignment" '*' envelope "$ENV"
allow gateway XADD "$S:cmd:sla" '*' envelope "$ENV"

# --- pipeline -------------------------------------------------------------------------------------------
u=pipeline
allow $u XREADGROUP GROUP pipeline p-1 COUNT 10 BLOCK 10 STREAMS \
    'crm:{s0}:cmd:pipeline' 'crm:{s1}:cmd:pipeline' 'crm:{s2}:cmd:pipeline' 'crm:{s3}:cmd:pipeline' '>' '>' '>' '>'
# The saga coordinator reacts to integration results on the events stream.
allow $u XGROUP CREATE "$S:events" pipeline 0 MKSTREAM
allow $u XREADGROUP GROUP pipeline p-1 COUNT 10 STREAMS "$S:cmd:pipeline" "$S:events" '>' '>'
allow $u XAUTOCLAIM "$S:events" pipeline p-2 0 0-0 COUNT 10
allow $u XPENDING "$S:cmd:pipeline" pipeline
allow $u XPENDING "$S:cmd:pipeline" pipeline - + 10
allow $u XAUTOCLAIM "$S:cmd:pipeline" pipeline p-2 0 0-0 COUNT 10
allow $u XCLAIM "$S:cmd:pipeline" pipeline p-1 0 0-1
allow $u XINFO GROUPS "$S:cmd:pipeline"
allow $u XINFO STREAM "$S:cmd:pipeline"
allow $u XRANGE "$S:cmd:pipeline" - + COUNT 1
id=$(value $u XRANGE "$S:cmd:pipeline" - + COUNT 1 | head -1)
allow $u XACK "$S:cmd:pipeline" pipeline "$id"
for k in events cmd:integration cmd:sla cmd:assignment dlq; do allow $u XADD "$S:$k" '*' envelope "$ENV"; done
allow $u HSET "$S:t:acme:lead:L1" stage new version 1
allow $u HGETALL "$S:t:acme:lead:L1"
allow $u SET "$S:t:acme:def:lead:v1" '{"stages":[]}'
allow $u ZADD "$S:t:acme:idx:lead:stage:new" 1 L1
allow $u SET "$S:idem:pipeline:m1" 1 EX 86400 NX
allow $u RPUSH "$S:reply:m1" '{"type":"command.accepted"}'
allow $u EXPIRE "$S:reply:m1" 300
allow $u SET crm:metrics:pipeline-service:p-1 '{}' EX 30
allow $u SET crm:health:pipeline-service:p-1 ok EX 10
allow_tx $u "HSET $S:t:acme:lead:L2 stage new" "XADD $S:events * envelope {}" "SET $S:idem:pipeline:m9 1 EX 60"
load $u "$COMMIT"
allow $u EVALSHA "$(sha)" 6 "$S:t:acme:lead:L1" "$S:events" "$S:idem:pipeline:m2" "$S:reply:m2" \
    "$S:cmd:integration" "$S:cmd:sla" "$ENV"
deny $u XADD "$S:audit" '*' envelope "$ENV"
deny $u HSET "$S:audit:head" hash x
deny $u SET "$S:idem:audit:m1" 1
deny $u SET "$S:idem:sla:m1" 1
deny $u XADD "$S:cmd:pipeline" '*' envelope "$ENV"
deny $u XGROUP CREATE "$S:cmd:sla" sla '$' MKSTREAM
deny $u XREADGROUP GROUP sla p-1 COUNT 1 STREAMS "$S:cmd:sla" '>'
deny $u DEL "$S:events"
deny $u XTRIM "$S:events" MAXLEN 0
deny $u XDEL "$S:cmd:pipeline" 0-1
deny $u XGROUP DESTROY "$S:cmd:pipeline" pipeline
deny $u XGROUP SETID "$S:cmd:pipeline" pipeline 0
deny $u BLPOP "$S:reply:m1" 0.01
deny $u SET crm:health:gateway:g-1 ok
deny $u SCAN 0
deny $u INFO
deny $u RENAME "$S:t:acme:lead:L1" "$S:t:acme:lead:L9"
deny $u SORT "$S:t:acme:idx:lead:stage:new"
load $u "$XADD_KEY1"
deny $u EVALSHA "$(sha)" 1 "$S:audit"
load $u "$SNEAKY_XADD"
deny $u EVALSHA "$(sha)" 0

# --- assignment -----------------------------------------------------------------------------------------
u=assignment
allow $u XGROUP CREATE "$S:cmd:assignment" assignment 0 MKSTREAM
allow $u XGROUP CREATE "$S:events" assignment 0 MKSTREAM
allow $u XREADGROUP GROUP assignment a-1 COUNT 10 STREAMS "$S:cmd:assignment" "$S:events" '>' '>'
allow $u XAUTOCLAIM "$S:events" assignment a-1 0 0-0 COUNT 1
allow $u XADD "$S:events" '*' envelope "$ENV"
allow $u XADD "$S:dlq" '*' envelope "$ENV" reason test source "$S:events" deliveries 5
allow $u HSET "$S:t:acme:dir:u-1" roles sales
allow $u SET "$S:idem:assignment:m1" 1 EX 86400
allow $u RPUSH "$S:reply:m3" '{}'
allow $u SET crm:health:assignment-service:a-1 ok EX 10
load $u "$COMMIT"
allow $u EVALSHA "$(sha)" 4 "$S:t:acme:lead:L1" "$S:events" "$S:idem:assignment:m2" "$S:reply:m4" "$ENV"
# An approved approval sends its action to pipeline-service in the decision's commit.
allow $u XADD "$S:cmd:pipeline" '*' envelope "$ENV"
deny $u XREADGROUP GROUP pipeline a-1 COUNT 1 STREAMS "$S:cmd:pipeline" '>'
deny $u XADD "$S:cmd:integration" '*' envelope "$ENV"
deny $u XADD "$S:audit" '*' envelope "$ENV"
deny $u SET "$S:idem:pipeline:m1" 1
deny $u ZADD "$S:timers" 1 t1
deny $u XREADGROUP GROUP pipeline a-1 COUNT 1 STREAMS "$S:cmd:pipeline" '>'

# --- sla ----------------------------------------------------------------------------------------------------
u=sla
allow $u XGROUP CREATE "$S:cmd:sla" sla 0 MKSTREAM
allow $u XGROUP CREATE "$S:events" sla 0 MKSTREAM
allow $u XREADGROUP GROUP sla s-1 COUNT 10 STREAMS "$S:cmd:sla" "$S:events" '>' '>'
allow $u ZADD "$S:timers" 1000 acme:lead:L1:sla
allow $u ZRANGEBYSCORE "$S:timers" -inf 2000 LIMIT 0 10
allow $u HSET "$S:timers:lease" acme:lead:L1:sla s-1
allow $u XADD "$S:cmd:assignment" '*' envelope "$ENV"
allow $u XADD "$S:events" '*' envelope "$ENV"
allow $u SET "$S:idem:sla:m1" 1 EX 86400
allow $u HGET "$S:t:acme:lead:L1" stage
allow $u SET crm:metrics:sla-timer-service:s-1 '{}' EX 30
load $u "$TIMER_CLAIM"
allow $u EVALSHA "$(sha)" 2 "$S:timers" "$S:events" 2000
deny $u XADD "$S:cmd:pipeline" '*' envelope "$ENV"
deny $u XADD "$S:cmd:integration" '*' envelope "$ENV"
deny $u XADD "$S:audit" '*' envelope "$ENV"
deny $u SET "$S:idem:assignment:m1" 1

# --- integration ------------------------------------------------------------------------------------------
u=integration
allow $u XGROUP CREATE "$S:cmd:integration" integration 0 MKSTREAM
allow $u XREADGROUP GROUP integration i-1 COUNT 10 STREAMS "$S:cmd:integration" '>'
allow $u XADD "$S:cmd:pipeline" '*' envelope "$ENV"
allow $u XADD "$S:events" '*' envelope "$ENV"
allow $u HSET "$S:t:acme:integration:webhook-1" attempts 1
allow $u SET "$S:idem:integration:m1" 1 EX 86400
allow $u RPUSH "$S:reply:m5" '{}'
allow $u SET crm:health:integration-service:i-1 ok EX 10
load $u "$COMMIT"
allow $u EVALSHA "$(sha)" 5 "$S:t:acme:integration:webhook-1" "$S:events" "$S:idem:integration:m2" \
    "$S:reply:m6" "$S:cmd:pipeline" "$ENV"
deny $u XADD "$S:cmd:sla" '*' envelope "$ENV"
deny $u XADD "$S:cmd:assignment" '*' envelope "$ENV"
deny $u XADD "$S:audit" '*' envelope "$ENV"
deny $u XREADGROUP GROUP pipeline i-1 COUNT 1 STREAMS "$S:cmd:pipeline" '>'
# Calls, their due set and the tenants' integrations (secrets) live under crm:{sN}:integration:.
allow $u HSET "$S:integration:config:acme" v 1 i:webhook '{}'
allow $u HSET "$S:integration:call:acme:C-1" state pending attempts 0
allow $u HINCRBY "$S:integration:call:acme:C-1" attempts 1
allow $u ZADD "$S:integration:due" 1 acme:C-1
allow $u ZRANGEBYSCORE "$S:integration:due" -inf 2 LIMIT 0 10
allow $u ZREM "$S:integration:due" acme:C-1
allow $u EXPIRE "$S:integration:call:acme:C-1" 60
allow $u PERSIST "$S:integration:call:acme:C-1"
allow $u XADD "$S:dlq" '*' envelope "$ENV" reason integration_failed
load $u "$CALL_CLAIM"
allow $u EVALSHA "$(sha)" 1 "$S:integration:due" 3 "$S:integration:call:"
deny $u HSET "$S:audit:head" seq 1

# --- audit ---------------------------------------------------------------------------------------------------
u=audit
allow $u XGROUP CREATE "$S:events" audit 0 MKSTREAM
allow $u XREADGROUP GROUP audit au-1 COUNT 1 STREAMS "$S:events" '>'
id=$(value $u XRANGE "$S:events" - + COUNT 1 | head -1)
allow $u XPENDING "$S:events" audit
allow $u XADD "$S:audit" '*' envelope "$ENV" seq 1 hash h1 prev ''
allow $u XREVRANGE "$S:audit" + - COUNT 1
allow $u HSET "$S:audit:head" seq 1 hash h1
allow $u ZADD "$S:audit:hist:acme:lead:L1" 1 h1
allow $u SET "$S:idem:audit:m1" 1 EX 86400
allow $u XADD "$S:dlq" '*' envelope "$ENV" reason test source "$S:events" deliveries 5
allow $u SET crm:health:audit-service:au-1 ok EX 10
load $u "$AUDIT_APPEND"
allow $u EVALSHA "$(sha)" 5 "$S:audit" "$S:audit:head" "$S:audit:hist:acme:lead:L1" "$S:idem:audit:m2" \
    "$S:events" "$ENV" h2 "$id"
allow $u XACK "$S:events" audit "$id"
deny $u HSET "$S:t:acme:x" f v
deny $u GET "$S:t:acme:lead:L1"
deny $u XADD "$S:events" '*' envelope "$ENV"
for k in cmd:pipeline cmd:assignment cmd:sla cmd:integration; do deny $u XADD "$S:$k" '*' envelope "$ENV"; done
deny $u DEL "$S:audit"
# audit-service trims its stream only after archiving what it trims (CRM_AUDIT_MAX_LEN); it never deletes single entries.
allow $u XTRIM "$S:audit" MINID 0-1
allow $u XADD "$S:audit:checkpoints" '*' seq 1 hash h1 signature s key k
deny $u XDEL "$S:audit" 0-1
deny $u DEL "$S:events"
deny $u RPUSH "$S:reply:m1" x
deny $u SET "$S:idem:pipeline:m1" 1
load $u "$HSET_KEY1"
deny $u EVALSHA "$(sha)" 1 "$S:t:acme:x"
load $u "$SNEAKY_HSET"
deny $u EVALSHA "$(sha)" 1 "$S:audit:head"
load $u "$XADD_KEY1"
deny $u EVALSHA "$(sha)" 1 "$S:events"

# --- gateway -------------------------------------------------------------------------------------------------
u=gateway
allow $u BLPOP "$S:reply:m2" 0.01
allow $u BLPOP "$S:reply:none" 0.01
allow $u LPOP "$S:reply:m3"
allow $u HGETALL "$S:t:acme:lead:L1"
allow $u HMGET "$S:t:acme:lead:L1" stage version
allow $u GET "$S:t:acme:def:lead:v1"
allow $u ZRANGE "$S:t:acme:idx:lead:stage:new" 0 -1
allow $u XRANGE "$S:events" - + COUNT 10
allow $u XREAD COUNT 10 BLOCK 10 STREAMS "$S:events" "$S:audit" 0 0
allow $u XREVRANGE "$S:audit" + - COUNT 10
allow $u ZRANGE "$S:audit:hist:acme:lead:L1" 0 -1
allow $u XRANGE "$S:dlq" - +
allow $u XLEN "$S:dlq"
allow $u XINFO GROUPS "$S:events"
allow $u XINFO GROUPS "$S:cmd:pipeline"
allow $u HMGET "$S:timers:clocks" "acme:lead:L1:first_response"
deny $u HGETALL "$S:timers:clocks"
deny $u XREADGROUP GROUP g c COUNT 1 STREAMS "$S:cmd:pipeline" ">"
allow $u GET crm:health:pipeline-service:p-1
allow $u GET crm:metrics:pipeline-service:p-1
allow $u SCAN 0 MATCH 'crm:health:*' COUNT 100
allow $u SET crm:health:gateway:g-1 ok EX 10
allow $u SET crm:metrics:gateway:g-1 '{}' EX 30
deny $u XADD "$S:cmd:integration" '*' envelope "$ENV"
deny $u XADD "$S:events" '*' envelope "$ENV"
deny $u XADD "$S:audit" '*' envelope "$ENV"
deny $u XADD "$S:dlq" '*' envelope "$ENV"
deny $u XDEL "$S:dlq" 0-1
deny $u HSET "$S:t:acme:lead:L1" owner u-2
deny $u DEL "$S:t:acme:lead:L1"
deny $u RPUSH "$S:reply:m9" x
deny $u XRANGE "$S:cmd:pipeline" - +
deny $u XREADGROUP GROUP pipeline g-1 COUNT 1 STREAMS "$S:cmd:pipeline" '>'
deny $u XACK "$S:events" audit 0-1
deny $u GET "$S:idem:pipeline:m1"
deny $u SET crm:health:pipeline-service:p-1 fake
deny $u HGETALL "$S:integration:config:acme"
deny $u SCRIPT LOAD 'return 1'
deny $u INFO

# --- crmctl (operator) -----------------------------------------------------------------------------------------
u=crmctl
for k in cmd:pipeline cmd:assignment cmd:sla cmd:integration; do allow $u XADD "$S:$k" '*' envelope "$ENV"; done
allow $u BLPOP "$S:reply:m4" 0.01
allow $u SCAN 0 MATCH 'crm:*' COUNT 1000
allow $u TYPE "$S:events"
allow $u XINFO GROUPS "$S:cmd:pipeline"
allow $u XINFO STREAM "$S:events"
allow $u XINFO CONSUMERS "$S:cmd:pipeline" pipeline
allow $u XPENDING "$S:cmd:pipeline" pipeline - + 10
allow $u XLEN "$S:dlq"
allow $u XRANGE "$S:dlq" - +
allow $u XREVRANGE "$S:audit" + - COUNT 1
allow $u XREAD COUNT 10 BLOCK 10 STREAMS "$S:audit" 0
allow $u HGETALL "$S:audit:head"
allow $u HGETALL "$S:t:acme:lead:L1"
allow $u GET "$S:idem:pipeline:m1"
allow $u GET crm:metrics:pipeline-service:p-1
allow $u INFO persistence
id=$(value $u XRANGE "$S:dlq" - + COUNT 1 | head -1)
allow $u XADD "$S:cmd:pipeline" '*' envelope "$ENV"
allow $u XDEL "$S:dlq" "$id"
allow $u XACK "$S:cmd:pipeline" pipeline 0-1
deny $u HSET "$S:t:acme:lead:L1" owner u-2
deny $u XADD "$S:events" '*' envelope "$ENV"
deny $u XADD "$S:audit" '*' envelope "$ENV"
deny $u XDEL "$S:audit" 0-1
deny $u DEL "$S:dlq"
deny $u XTRIM "$S:dlq" MAXLEN 0
deny $u XGROUP DESTROY "$S:cmd:pipeline" pipeline
deny $u XGROUP SETID "$S:cmd:pipeline" pipeline 0
deny $u SET crm:metrics:crmctl:x 1
deny $u SCRIPT LOAD 'return 1'

# --- ACL DRYRUN: what Redis itself says each user may run, without running it --------------------------------------
# dryrun may|may-not USER COMMAND...
dryrun() {
    local want=$1 who=$2; shift 2
    local reply
    reply=$(run acl-checker ACL DRYRUN "$who" "$@")
    if [[ $want == may && $reply == *OK* ]] || [[ $want == may-not && $reply != *OK* ]]; then
        pass "dryrun: $who $want: $*"
    else
        fail "dryrun: $who $want: $*" "$reply"
    fi
}
dryrun may pipeline EVALSHA 0123456789012345678901234567890123456789 1 "$S:t:acme:lead:L1"
dryrun may-not pipeline EVAL 'return 1' 0
dryrun may-not integration XADD "$S:audit" '*' envelope x
dryrun may-not integration HGET "$S:audit:head" hash
dryrun may-not gateway FLUSHALL
dryrun may-not gateway XADD "$S:events" '*' envelope x
dryrun may audit XADD "$S:audit" '*' envelope x
dryrun may-not sla XADD "$S:cmd:pipeline" '*' envelope x
dryrun may-not crmctl HSET "$S:t:acme:lead:L1" d x
dryrun may-not assignment CONFIG SET appendonly no

# --- summary --------------------------------------------------------------------------------------------------------
if ! kill -0 "$server_pid" 2>/dev/null; then
    fail "redis-server kept running during the checks" "it exited early; its log: $(tail -3 "$tmp/redis.log" 2>/dev/null)"
fi
if [[ $dev_users -gt 0 ]]; then
    echo "note: $dev_users of $total_users users in $acl_src still have their development password; replace them before production"
fi
echo "acl: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
