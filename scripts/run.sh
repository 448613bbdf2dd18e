#!/usr/bin/env bash
# make run: builds release binaries, starts a local redis-server with AOF and the shipped ACL users
# under .run/, starts every service in the background, loads a demo tenant and says where to look.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
run=$root/.run
mkdir -p "$run/logs" "$run/pids" "$run/redis"

if [[ -f $run/pids/redis.pid ]] && kill -0 "$(cat "$run/pids/redis.pid")" 2>/dev/null; then
    echo "already running; 'make stop' first" >&2
    exit 1
fi

swift build -c release
bin=$(swift build -c release --show-bin-path)

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=${CRM_REDIS_PORT:-}
if [[ -z $port ]]; then
    port=6379
    while ! port_free "$port"; do port=$((port + 1)); done
fi
http_port=${CRM_HTTP_PORT:-8080}
while ! port_free "$http_port"; do http_port=$((http_port + 1)); done

# The shipped production config, with this checkout's paths and port on top.
cat > "$run/redis.conf" <<CONF
include $root/deploy/redis.conf
port $port
bind 127.0.0.1
dir $run/redis
aclfile $root/deploy/users.acl
pidfile $run/pids/redis.pid
logfile $run/logs/redis.log
daemonize yes
save ""
CONF
redis-server "$run/redis.conf"

url() { echo "redis://$1:$1-dev-secret@127.0.0.1:$port"; }
for _ in $(seq 100); do
    redis-cli -p "$port" --user crmctl --pass crmctl-dev-secret --no-auth-warning PING 2>/dev/null | grep -q PONG && break
    sleep 0.1
done

# The deployment's audit checkpoint key pair, made once (CRM_AUDIT_SIGNING_KEY / CRM_AUDIT_PUBLIC_KEY).
[[ -s $run/audit-keys.env ]] || { umask 077; "$bin/crmctl" audit keygen > "$run/audit-keys.env"; }
signing_key=$(grep '^CRM_AUDIT_SIGNING_KEY=' "$run/audit-keys.env" | cut -d= -f2-)
public_key=$(grep '^CRM_AUDIT_PUBLIC_KEY=' "$run/audit-keys.env" | cut -d= -f2-)

declare -A users=([pipeline-service]=pipeline [assignment-service]=assignment [sla-timer-service]=sla
                  [integration-service]=integration [audit-service]=audit)
for service in pipeline-service assignment-service sla-timer-service integration-service audit-service; do
    secret=()  # only audit-service holds the checkpoint signing key
    [[ $service == audit-service ]] && secret=(CRM_AUDIT_SIGNING_KEY="$signing_key")
    env CRM_REDIS_URL="$(url "${users[$service]}")" CRM_CONSUMER="$service-1" "${secret[@]}" \
        nohup "$bin/$service" >> "$run/logs/$service.log" 2>&1 &
    echo $! > "$run/pids/$service.pid"
done
CRM_REDIS_URL=$(url gateway) CRM_CONSUMER=gateway-1 CRM_HTTP_PORT=$http_port \
    nohup "$bin/gateway" >> "$run/logs/gateway.log" 2>&1 &
echo $! > "$run/pids/gateway.pid"
echo "$http_port" > "$run/http-port"
users[gateway]=gateway
for service in "${!users[@]}"; do
    for _ in $(seq 100); do grep -qs '] ready' "$run/logs/$service.log" && break; sleep 0.1; done
    grep -qs '] ready' "$run/logs/$service.log" || { echo "$service did not start; see $run/logs/$service.log" >&2; exit 1; }
done

cat > "$run/env" <<ENV
export CRM_REDIS_URL=$(url crmctl)
export CRM_AUDIT_PUBLIC_KEY=$public_key
export PATH="$bin:\$PATH"
ENV
export CRM_REDIS_URL=$(url crmctl)

# The demo tenant: the example story, then a few more leads (fixed ids, so a second run replays them).
for example in contracts/v1/examples/*.json; do
    if grep -q '"kind": *"command"' "$example"; then "$bin/crmctl" publish "$example" > /dev/null; fi
done
# Each demo lead is assigned to u-17 (the demo key's user; the examples allow self-assignment), so
# the dashboard lists them.
for n in 1 2 3 4 5; do
    printf '{"id":"demo-lead-%s","type":"lead.create","version":1,"kind":"command","tenant":"acme","actor":"u-17","occurredAt":"2026-11-24T21:00:0%s.000Z","payload":{"leadId":"L-20%s","data":{"name":"Demo lead %s","score":%s}}}' \
        "$n" "$n" "$n" "$n" "$((n * 20))" | "$bin/crmctl" publish - > /dev/null
    printf '{"id":"demo-assign-%s","type":"assignment.request","version":1,"kind":"command","tenant":"acme","actor":"u-17","occurredAt":"2026-11-24T21:00:1%s.000Z","payload":{"subject":"lead:L-20%s","strategy":"manual","assignee":"u-17"}}' \
        "$n" "$n" "$n" | "$bin/crmctl" publish - > /dev/null || true
done

# A demo API key for the gateway, made once (only its hash is stored in Redis).
[[ -s $run/demo-api-key ]] || { umask 077; "$bin/crmctl" apikey create --tenant acme --actor u-17 --user u-17 --name demo > "$run/demo-api-key"; }
api_key=$(cat "$run/demo-api-key")

cat <<MSG

Nexus CRM is running.
  Redis:     redis://127.0.0.1:$port  (AOF under .run/redis, ACL users from deploy/users.acl)
  Services:  pipeline, assignment, sla-timer, integration, audit  (logs in .run/logs/)
  Dashboard: http://127.0.0.1:$http_port/  (log in with the API key below)
  Gateway:   http://127.0.0.1:$http_port/v1  (API: /v1/openapi.json; GET /healthz, GET /metrics)
  API key:   $api_key  (user u-17 of tenant acme; also in .run/demo-api-key)
  Demo:      tenant "acme": a lead pipeline and 6 leads, 5 of them assigned to u-17

Try:
  source .run/env
  crmctl status                          # groups, lag, pending, DLQ per shard, live consumers
  crmctl audit tail --tenant acme        # the demo's events in the audit chain (add --follow to watch)
  crmctl audit verify                    # recompute the hash chains, check the signed checkpoints
  crmctl history --tenant acme lead L-1001   # one record's audit entries
  crmctl publish contracts/v1/examples/04-lead.create.json
  curl -s -H "authorization: Bearer $api_key" http://127.0.0.1:$http_port/v1/tenants/acme/leads/L-1001
  make stop                              # stops everything started here
MSG
