#!/usr/bin/env bash
# make bench: the targets of DESIGN §5 measured against a fresh local Redis with AOF `always` (or
# CRM_BENCH_FSYNC), the real services in release builds, beside the same run's redis-benchmark
# ceiling and the hand-written baseline of Benchmarks/baseline.py. Writes .bench/results.json and
# prints a table. Nothing is asserted (the machine is shared and noisy); it fails only when a
# figure cannot be measured at all, and then says which.
set -euo pipefail
cd "$(dirname "$0")/.."
for product in pipeline-service audit-service sla-timer-service assignment-service integration-service gateway crmctl; do
    swift build -c release --product "$product" >/dev/null
done
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d "${TMPDIR:-/tmp}/crm-bench.XXXXXX")
out=.bench
mkdir -p "$out/figures"
rm -f "$out"/figures/*.json
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
python3 -c 'import redis' 2>/dev/null || python3 -m pip install --quiet redis 2>/dev/null || python3 -m pip install --quiet --break-system-packages redis

fsync=${CRM_BENCH_FSYNC:-always}
redis-server --port 0 --unixsocket "$work/redis.sock" --dir "$work" --save "" --appendonly yes \
    --appendfsync "$fsync" --logfile "$work/redis.log" --daemonize no &
pids+=($!)
for _ in $(seq 100); do redis-cli -s "$work/redis.sock" PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done
export CRM_REDIS_URL="unix://$work/redis.sock" CRM_LOG_LEVEL=warning

# A figure: its JSON line goes to .bench/figures/<name>.json (and to the screen).
figure() {
    local name=$1; shift
    echo "== $name"
    if "$@" > "$out/figures/$name.json"; then cat "$out/figures/$name.json"; else echo "(not measured)"; rm -f "$out/figures/$name.json"; fi
}
ceiling() {
    redis-benchmark -s "$work/redis.sock" -n "$1" -c "$2" -q "${@:3}" 2>&1 | tr '\r' '\n' | grep 'requests per second' | tail -n 1 | sed 's/^.*: //'
}
echo "== redis-benchmark ceilings (AOF $fsync, unix socket)"
xadd1=$(ceiling 20000 1 XADD 'bench:{s0}:x' '*' envelope 0123456789abcdef0123456789abcdef)
xadd32=$(ceiling 100000 32 XADD 'bench:{s0}:x' '*' envelope 0123456789abcdef0123456789abcdef)
hset1=$(ceiling 20000 1 HSET 'bench:{s0}:h' f 0123456789abcdef)
echo "  XADD, 1 client: $xadd1"; echo "  XADD, 32 clients: $xadd32"; echo "  HSET, 1 client: $hset1"
python3 - "$xadd1" "$xadd32" "$hset1" > "$out/figures/ceilings.json" <<'PY'
import json, re, sys
def parse(text):
    rate = re.search(r"([0-9.]+) requests per second", text)
    p50 = re.search(r"p50=([0-9.]+) msec", text)
    return {"per_s": float(rate.group(1)) if rate else None, "p50_ms": float(p50.group(1)) if p50 else None}
print(json.dumps({"xadd_1": parse(sys.argv[1]), "xadd_32": parse(sys.argv[2]), "hset_1": parse(sys.argv[3])}))
PY
redis-cli -s "$work/redis.sock" DEL 'bench:{s0}:x' 'bench:{s0}:h' >/dev/null

# Each service's start → ready time (it logs "ready" once its groups exist).
for service in pipeline-service audit-service assignment-service sla-timer-service integration-service; do
    start=$(date +%s%N)
    CRM_CONSUMER="bench-$service" CRM_LOG_LEVEL=info "$bin/$service" > "$work/$service.log" 2>&1 & pids+=($!)
    for _ in $(seq 2000); do grep -qs '] ready' "$work/$service.log" && break; sleep 0.005; done
    end=$(date +%s%N)
    grep -qs '] ready' "$work/$service.log" && echo "{\"service\":\"$service\",\"ready_ms\":$(( (end - start) / 1000000 ))}" >> "$work/ready.jsonl"
done
python3 -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; print(json.dumps({"services": rows, "max_ready_ms": max(r["ready_ms"] for r in rows)}))' \
    "$work/ready.jsonl" > "$out/figures/start_to_ready.json" && echo "== start → ready" && cat "$out/figures/start_to_ready.json"

CRM_CONSUMER=bench-gateway CRM_LOG_LEVEL=info CRM_HTTP_PORT=0 "$bin/gateway" > "$work/gateway.log" 2>&1 & pids+=($!)
for _ in $(seq 400); do grep -qs 'http.port=' "$work/gateway.log" && break; sleep 0.02; done
gateway_port=$(grep -o 'http.port=[0-9]*' "$work/gateway.log" | head -1 | cut -d= -f2)

figure compile "$bin/crmctl" bench-compile --stages 50 --runs 2000
figure gateway_sync "$bin/crmctl" bench-gateway --branches 10 --runs "${CRM_BENCH_GATEWAY_RUNS:-300}"
figure action_latency "$bin/crmctl" bench --commands "${CRM_BENCH_COMMANDS:-3000}" --concurrency 1
figure action_throughput "$bin/crmctl" bench --commands "${CRM_BENCH_COMMANDS_HEAVY:-20000}" --concurrency 32
figure timers_10s "$bin/crmctl" bench-timers --tenant bench-t1 --timers "${CRM_BENCH_TIMERS:-10000}" --spread-ms 10000 --lead-ms 15000
figure timers_2s "$bin/crmctl" bench-timers --tenant bench-t2 --timers "${CRM_BENCH_TIMERS:-10000}" --spread-ms 2000 --lead-ms 15000

figure dashboard python3 Benchmarks/dashboard.py --socket "$work/redis.sock" --gateway "http://127.0.0.1:${gateway_port:-0}" \
    --crmctl "$bin/crmctl" --records "${CRM_BENCH_DASHBOARD_RECORDS:-1000}"
figure dashboard_pending python3 Benchmarks/dashboard_pending.py --socket "$work/redis.sock" --gateway "http://127.0.0.1:${gateway_port:-0}" \
    --crmctl "$bin/crmctl" --records "${CRM_BENCH_DASHBOARD_PENDING_RECORDS:-100000}"

# The hand-written baseline on the same Redis, after the engine (its consumer alone is running).
for pid in "${pids[@]:1}"; do kill -TERM "$pid" 2>/dev/null || true; done
python3 Benchmarks/baseline.py --socket "$work/redis.sock" consume > "$work/baseline.log" 2>&1 & pids+=($!)
for _ in $(seq 200); do grep -qs ready "$work/baseline.log" && break; sleep 0.05; done
figure baseline_latency python3 Benchmarks/baseline.py --socket "$work/redis.sock" latency --commands "${CRM_BENCH_COMMANDS:-3000}"
figure baseline_throughput python3 Benchmarks/baseline.py --socket "$work/redis.sock" throughput --commands "${CRM_BENCH_COMMANDS_HEAVY:-20000}" --clients 32

python3 Benchmarks/report.py "$out/figures" "$fsync" > "$out/results.json.tmp" && mv "$out/results.json.tmp" "$out/results.json"
python3 Benchmarks/report.py --table "$out/results.json"
