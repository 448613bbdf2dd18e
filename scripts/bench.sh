#!/usr/bin/env bash
# make bench: the targets of DESIGN §5 measured against a private redis-server started with
# deploy/redis.conf as shipped (AOF `appendfsync always`; CRM_BENCH_FSYNC overrides), the real
# services in release builds, each figure beside the same run's redis-benchmark ceiling for the
# equivalent Redis work and the hand-written baseline of Benchmarks/baseline.py. Writes
# .bench/results.json and .bench/latency.png and prints a table. Nothing is asserted (the machine
# is shared and noisy): it fails only when a figure cannot be measured at all, and says which.
set -euo pipefail
cd "$(dirname "$0")/.."
began=$(date +%s)
phase() { echo "== [$(( $(date +%s) - began ))s] $*"; }

out=.bench
mkdir -p "$out/figures" "$out/samples"
# CRM_BENCH_SKIP_BUILD=1 measures the release binaries already built (while another build holds the lock).
if [ -z "${CRM_BENCH_SKIP_BUILD:-}" ]; then
    phase "release build (log: $out/build.log)"
    swift build -c release > "$out/build.log" 2>&1 || { tail -n 40 "$out/build.log"; echo "make bench: the release build failed"; exit 1; }
fi
bin=.build/release
work=$(mktemp -d "${TMPDIR:-/tmp}/crm-bench.XXXXXX")
rm -f "$out"/figures/*.json "$out"/samples/*
declare -A service_pids=()
redis_pid=""
baseline_pid=""
cleanup() {
    for pid in "${service_pids[@]}" $baseline_pid; do kill -TERM "$pid" 2>/dev/null || true; done
    wait ${service_pids[@]} $baseline_pid 2>/dev/null || true
    [ -n "$redis_pid" ] && { kill -TERM "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; }
    rm -rf "$work"
}
trap cleanup EXIT
for module in redis matplotlib; do
    python3 -c "import $module" 2>/dev/null || python3 -m pip install --quiet "$module" 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages "$module"
done

# Redis as shipped, on a private socket and directory: deploy/redis.conf without what names the
# host's files, port and ACL users; RDB snapshots off (a fork mid-figure would measure the fork).
fsync=${CRM_BENCH_FSYNC:-always}
grep -vE '^(bind|port|pidfile|logfile|aclfile|dir|supervised|save|daemonize) ' deploy/redis.conf > "$work/redis.conf"
redis-server "$work/redis.conf" --port 0 --unixsocket "$work/redis.sock" --dir "$work" --save "" \
    --appendfsync "$fsync" --logfile "$work/redis.log" --daemonize no &
redis_pid=$!
for _ in $(seq 100); do redis-cli -s "$work/redis.sock" PING 2>/dev/null | grep -q PONG && break; sleep 0.05; done
rcli() { redis-cli -s "$work/redis.sock" "$@"; }
export CRM_REDIS_URL="unix://$work/redis.sock" CRM_LOG_LEVEL=warning

# A figure: its JSON line goes to .bench/figures/<name>.json (and to the screen).
figure() {
    local name=$1; shift
    phase "$name"
    if "$@" > "$out/figures/$name.json"; then cat "$out/figures/$name.json"; else echo "(not measured)"; rm -f "$out/figures/$name.json"; fi
}
# redis-benchmark's summary line ("... requests per second, p50=0.151 msec") for one command.
ceiling() {
    redis-benchmark -s "$work/redis.sock" -n "$1" -c "$2" -q "${@:3}" 2>&1 | tr '\r' '\n' | grep 'requests per second' | tail -n 1 | sed 's/^.*: //'
}
start_service() {  # name [consumer]
    local name=$1 consumer=${2:-bench-$1}
    # The gateway's per-key rate limit is off: the dashboard figures read hundreds of pages with one key.
    CRM_CONSUMER="$consumer" CRM_LOG_LEVEL=info CRM_HTTP_PORT=0 CRM_RATE_LIMIT_PER_MINUTE=0 "$bin/$name" > "$work/$consumer.log" 2>&1 &
    service_pids[$consumer]=$!
}
stop_service() {  # consumer
    local pid=${service_pids[$1]:-}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "service_pids[$1]"
}
wait_ready() {  # consumer
    for _ in $(seq 2000); do grep -qs '] ready' "$work/$1.log" && return 0; sleep 0.005; done
    return 1
}

phase "redis-benchmark ceilings (AOF $fsync, unix socket)"
script='return redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "LIMIT", 0, 500)'
{
    echo "xadd_1=$(ceiling 5000 1 XADD 'bench:{s0}:x' '*' envelope 0123456789abcdef0123456789abcdef)"
    echo "xadd_32=$(ceiling 20000 32 XADD 'bench:{s0}:x' '*' envelope 0123456789abcdef0123456789abcdef)"
    echo "hset_1=$(ceiling 5000 1 HSET 'bench:{s0}:h' f 0123456789abcdef)"
    echo "sweep_script_1=$(ceiling 5000 1 EVAL "$script" 1 'bench:{s0}:due' 1000)"
} > "$work/ceilings.txt"
cat "$work/ceilings.txt"
rcli DEL 'bench:{s0}:x' 'bench:{s0}:h' >/dev/null

# Each service's start → ready time (it logs "ready" once its groups exist).
phase "start → ready"
: > "$work/ready.jsonl"
for service in pipeline-service audit-service assignment-service sla-timer-service integration-service; do
    start=$(date +%s%N)
    start_service "$service"
    wait_ready "bench-$service" && end=$(date +%s%N) \
        && echo "{\"service\":\"$service\",\"ready_ms\":$(( (end - start) / 1000000 ))}" >> "$work/ready.jsonl"
done
python3 -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; print(json.dumps({"services": rows, "max_ready_ms": max(r["ready_ms"] for r in rows)}))' \
    "$work/ready.jsonl" > "$out/figures/start_to_ready.json" && cat "$out/figures/start_to_ready.json"
start_service gateway
for _ in $(seq 400); do grep -qs 'http.port=' "$work/bench-gateway.log" && break; sleep 0.02; done
gateway_port=$(grep -o 'http.port=[0-9]*' "$work/bench-gateway.log" | head -1 | cut -d= -f2)

# First, on the fresh Redis: 1,000 leads created and assigned through the services, their queue page
# read through the gateway, and where the memory went (every key is theirs at this point).
figure dashboard python3 Benchmarks/dashboard.py --socket "$work/redis.sock" --gateway "http://127.0.0.1:${gateway_port:-0}" \
    --crmctl "$bin/crmctl" --records 1000 --key-out "$work/api-key"
figure memory python3 Benchmarks/memory.py --socket "$work/redis.sock" --records 1000
dash_tag="{s$(python3 -c 'import zlib; print(zlib.crc32(b"bench-dash") % 4)')}"
echo "dash_page_hgetall=$(ceiling 200 1 HGETALL "crm:$dash_tag:t:bench-dash:queue:rep")" >> "$work/ceilings.txt"
echo "dash_page_hmget_p1000=$(ceiling 20000 1 -P 1000 HMGET "crm:$dash_tag:t:bench-dash:lead:D-0" d)" >> "$work/ceilings.txt"

figure microbench "$bin/crm-microbench" --json --rounds 9
figure compile "$bin/crmctl" bench-compile --stages 50 --runs 2000
figure gateway_sync "$bin/crmctl" bench-gateway --branches 10 --runs "${CRM_BENCH_GATEWAY_RUNS:-300}" --samples "$out/samples/gateway_sync.txt"
figure action_latency "$bin/crmctl" bench --commands "${CRM_BENCH_COMMANDS:-3000}" --concurrency 1 --warmup 300 \
    --samples "$out/samples/engine_latency_$fsync.txt"
# CPU time each process spends on the throughput figure (utime + stime ticks from /proc): what limits it.
cpu_ticks() {
    for consumer in "${!service_pids[@]}"; do
        echo "$consumer $(awk '{print $14 + $15}' "/proc/${service_pids[$consumer]}/stat" 2>/dev/null || echo 0)"
    done
    echo "redis-server $(awk '{print $14 + $15}' "/proc/$redis_pid/stat")"
}
cpu_ticks > "$work/cpu.before"
figure action_throughput "$bin/crmctl" bench --commands "${CRM_BENCH_COMMANDS_HEAVY:-20000}" --concurrency 32 --spread-shards --warmup 1000 --tenant bench-tp
cpu_ticks > "$work/cpu.after"
python3 Benchmarks/cpu.py "$work/cpu.before" "$work/cpu.after" "$(( ${CRM_BENCH_COMMANDS_HEAVY:-20000} + 1000 ))" "$(getconf CLK_TCK)" \
    > "$out/figures/throughput_cpu.json" && cat "$out/figures/throughput_cpu.json"
figure timers_10s "$bin/crmctl" bench-timers --tenant bench-t1 --timers "${CRM_BENCH_TIMERS:-10000}" --spread-ms 10000 --lead-ms 20000
figure timers_2s "$bin/crmctl" bench-timers --tenant bench-t2 --timers "${CRM_BENCH_TIMERS:-10000}" --spread-ms 2000 --lead-ms 20000 \
    --samples "$out/samples/timer_lateness.txt"

# Timer firing throughput with 1 to 4 sla-timer-service consumers, every timer due at once.
stop_service bench-sla-timer-service
for consumers in 1 2 3 4; do
    for n in $(seq "$consumers"); do start_service sla-timer-service "bench-timers-$consumers-$n"; done
    for n in $(seq "$consumers"); do wait_ready "bench-timers-$consumers-$n" || true; done
    figure "timer_consumers_$consumers" "$bin/crmctl" bench-timers --tenant "bench-tc$consumers" --timers "${CRM_BENCH_TIMERS_BURST:-5000}" \
        --spread-ms 0 --lead-ms 15000 --sweeps 1
    for n in $(seq "$consumers"); do stop_service "bench-timers-$consumers-$n"; done
done
start_service sla-timer-service

# Scale: copies of an assigned lead, as the services store them, up to 100,000 and 1,000,000.
query() { python3 Benchmarks/dashboard.py --socket "$work/redis.sock" --gateway "http://127.0.0.1:${gateway_port:-0}" --query-only --key-file "$work/api-key"; }
# An AOF rewrite writes the whole dataset while fsyncs wait behind it: figures are taken outside one.
wait_aof() { for _ in $(seq 1200); do rcli INFO persistence | grep -E 'aof_rewrite_(in_progress|scheduled):1' > /dev/null || return 0; sleep 0.5; done; }
figure scale_100k python3 Benchmarks/scale.py --socket "$work/redis.sock" --tenant bench-dash --total 100000
wait_aof
figure dashboard_100k query
# The dashboard projection (pending leads and opportunities): 100,000 open records in one tenant's
# projection, 1,000-item pages read as the gateway reads them and then through the gateway over HTTP.
figure dashboard_pending python3 Benchmarks/dashboard_pending.py --socket "$work/redis.sock" --gateway "http://127.0.0.1:${gateway_port:-0}" \
    --crmctl "$bin/crmctl" --records "${CRM_BENCH_DASHBOARD_PENDING_RECORDS:-100000}"
if [ "${CRM_BENCH_SCALE:-1000000}" -gt 100000 ]; then
    figure scale_1m python3 Benchmarks/scale.py --socket "$work/redis.sock" --tenant bench-dash --total "${CRM_BENCH_SCALE:-1000000}"
    # Rewritten now, at its full size, the AOF does not grow enough for Redis to rewrite it again mid-figure.
    wait_aof
    rcli BGREWRITEAOF > /dev/null
    sleep 0.5
    wait_aof
    figure dashboard_1m query
    figure timers_2s_1m "$bin/crmctl" bench-timers --tenant bench-t3 --timers "${CRM_BENCH_TIMERS:-10000}" --spread-ms 2000 --lead-ms 20000
fi

phase "AOF everysec"
wait_aof
rcli CONFIG SET appendfsync everysec > /dev/null
figure action_latency_everysec "$bin/crmctl" bench --commands "${CRM_BENCH_COMMANDS:-3000}" --concurrency 1 --warmup 300 --tenant bench-es \
    --samples "$out/samples/engine_latency_everysec.txt"
figure action_throughput_everysec "$bin/crmctl" bench --commands "${CRM_BENCH_COMMANDS_HEAVY:-20000}" --concurrency 32 --spread-shards \
    --warmup 1000 --tenant bench-tpes
echo "xadd_32_everysec=$(ceiling 100000 32 XADD 'bench:{s0}:x' '*' envelope 0123456789abcdef0123456789abcdef)" >> "$work/ceilings.txt"
rcli DEL 'bench:{s0}:x' > /dev/null

# The hand-written baseline on the same Redis, after the engine (its consumer alone is running).
for consumer in "${!service_pids[@]}"; do stop_service "$consumer"; done
python3 Benchmarks/baseline.py --socket "$work/redis.sock" consume > "$work/baseline.log" 2>&1 &
baseline_pid=$!
for _ in $(seq 200); do grep -qs ready "$work/baseline.log" && break; sleep 0.05; done
wait_aof
figure baseline_latency_everysec python3 Benchmarks/baseline.py --socket "$work/redis.sock" latency --commands "${CRM_BENCH_COMMANDS:-3000}" \
    --samples "$out/samples/baseline_latency_everysec.txt"
figure baseline_throughput_everysec python3 Benchmarks/baseline.py --socket "$work/redis.sock" throughput --commands "${CRM_BENCH_COMMANDS_HEAVY:-20000}" --clients 32
rcli CONFIG SET appendfsync "$fsync" > /dev/null
wait_aof
figure baseline_latency python3 Benchmarks/baseline.py --socket "$work/redis.sock" latency --commands "${CRM_BENCH_COMMANDS:-3000}" \
    --samples "$out/samples/baseline_latency_$fsync.txt"
figure baseline_throughput python3 Benchmarks/baseline.py --socket "$work/redis.sock" throughput --commands "${CRM_BENCH_COMMANDS_HEAVY:-20000}" --clients 32

python3 - "$work/ceilings.txt" > "$out/figures/ceilings.json" <<'PY'
import json, re, sys
def parse(text):
    rate = re.search(r"([0-9.]+) requests per second", text)
    p50 = re.search(r"p50=([0-9.]+) msec", text)
    return {"per_s": float(rate.group(1)) if rate else None, "p50_ms": float(p50.group(1)) if p50 else None}
print(json.dumps({name: parse(text) for name, text in (line.rstrip("\n").split("=", 1) for line in open(sys.argv[1]) if "=" in line)}))
PY
phase "report"
python3 Benchmarks/report.py "$out/figures" "$fsync" "$(python3 Benchmarks/report.py --machine)" > "$out/results.json.tmp" && mv "$out/results.json.tmp" "$out/results.json"
python3 Benchmarks/report.py --table "$out/results.json"
python3 Benchmarks/chart.py "$out/samples" "$out/latency.png" && echo "chart: $out/latency.png"
phase "done: $out/results.json, $out/latency.png"
python3 Benchmarks/report.py --check "$out/results.json"
