#!/usr/bin/env bash
# make bench: the action targets of DESIGN §5 (command published → outcome readable, and throughput)
# measured against a fresh local Redis with AOF `always`, beside the same run's redis-benchmark
# ceiling, and the timer targets (SLA sweep over 10,000 pending timers, firing lateness under load)
# against two sla-timer-service replicas. The other targets of §5 (dashboard, gateway sync, 1M
# instances) come with the benchmark issue. Runs in about a minute; nothing is asserted: the machine is shared and noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product pipeline-service >/dev/null
swift build -c release --product audit-service >/dev/null
swift build -c release --product sla-timer-service >/dev/null
swift build -c release --product crmctl >/dev/null
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d "${TMPDIR:-/tmp}/crm-bench.XXXXXX")
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

fsync=${CRM_BENCH_FSYNC:-always}
redis-server --port 0 --unixsocket "$work/redis.sock" --dir "$work" --save "" --appendonly yes \
    --appendfsync "$fsync" --logfile "$work/redis.log" --daemonize no &
pids+=($!)
for _ in $(seq 100); do redis-cli -s "$work/redis.sock" PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done
export CRM_REDIS_URL="unix://$work/redis.sock" CRM_LOG_LEVEL=warning

echo "== redis-benchmark ceiling (AOF $fsync, unix socket)"
ceiling() {
    redis-benchmark -s "$work/redis.sock" -n "$1" -c "$2" -q XADD 'bench:{s0}:x' '*' envelope 0123456789abcdef0123456789abcdef \
        2>&1 | tr '\r' '\n' | grep 'requests per second' | tail -n 1 | sed 's/^.*: //'
}
echo "  XADD, 1 client:   $(ceiling 20000 1)"
echo "  XADD, 32 clients: $(ceiling 100000 32)"
redis-cli -s "$work/redis.sock" DEL 'bench:{s0}:x' >/dev/null

CRM_CONSUMER=bench-pipeline "$bin/pipeline-service" > "$work/pipeline.log" 2>&1 & pids+=($!)
CRM_CONSUMER=bench-audit "$bin/audit-service" > "$work/audit.log" 2>&1 & pids+=($!)
sleep 1
echo "== definition compile at publish (50 stages, 98 transitions with expressions, 20 fields; CPU only)"
echo -n "  "; "$bin/crmctl" bench-compile --stages 50 --runs 2000
echo "== parallel gateway sync, 10 branches: last branch.complete published → join committed (its outcome)"
echo -n "  "; "$bin/crmctl" bench-gateway --branches 10 --runs "${CRM_BENCH_GATEWAY_RUNS:-300}"
echo "== Nexus CRM lead.create, published → outcome on the reply list (PER-CRM-0323)"
echo -n "  latency, 1 client:     "; "$bin/crmctl" bench --commands "${CRM_BENCH_COMMANDS:-3000}" --concurrency 1
echo -n "  throughput, 32 clients: "; "$bin/crmctl" bench --commands "${CRM_BENCH_COMMANDS_HEAVY:-20000}" --concurrency 32

CRM_CONSUMER=bench-sla-1 "$bin/sla-timer-service" > "$work/sla-1.log" 2>&1 & pids+=($!)
CRM_CONSUMER=bench-sla-2 "$bin/sla-timer-service" > "$work/sla-2.log" 2>&1 & pids+=($!)
sleep 1
echo "== timers: sweep over the pending set, and lateness (firedAt − dueAt), two sla-timer-service replicas (PER-CRM-0337)"
echo -n "  10,000 timers due over 10 s: "; "$bin/crmctl" bench-timers --tenant bench-t1 --timers "${CRM_BENCH_TIMERS:-10000}" --spread-ms 10000 --lead-ms 15000 || echo "(not measured)"
echo -n "  10,000 timers due over 2 s:  "; "$bin/crmctl" bench-timers --tenant bench-t2 --timers "${CRM_BENCH_TIMERS:-10000}" --spread-ms 2000 --lead-ms 15000 || echo "(not measured)"
