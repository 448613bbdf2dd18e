#!/usr/bin/env python3
"""Turns the figures make bench measured (.bench/figures/*.json) into .bench/results.json — one object
per figure: name, value, unit, target, ceiling, ratio — and prints them as a table (--table)."""
import json, os, sys


def load(folder, name):
    path = os.path.join(folder, f"{name}.json")
    return json.load(open(path)) if os.path.exists(path) else None


def results(folder, fsync):
    rows = []
    c = load(folder, "ceilings") or {}
    xadd1, xadd32 = c.get("xadd_1", {}), c.get("xadd_32", {})

    def add(name, value, unit, target, ceiling=None, ceiling_name=None, lower_is_better=True):
        if value is None:
            return
        ratio = None
        if ceiling:
            ratio = round(value / ceiling, 2)
        rows.append({"name": name, "value": value, "unit": unit, "target": target, "ceiling": ceiling, "ceiling_of": ceiling_name, "ratio": ratio,
                     "aof": fsync})

    latency, baseline = load(folder, "action_latency"), load(folder, "baseline_latency")
    if latency:
        add("action latency p50 (1 client)", latency["p50_ms"], "ms", "≤ 1.1 × baseline p50",
            baseline and baseline["p50_ms"], "hand-written baseline p50")
        add("action latency p99 (1 client)", latency["p99_ms"], "ms", "≤ 1.5 ms", baseline and baseline["p99_ms"], "hand-written baseline p99")
        add("action latency p50 vs one XADD", latency["p50_ms"], "ms", "—", xadd1.get("p50_ms"), "redis-benchmark XADD p50, 1 client")
    throughput, base_tp = load(folder, "action_throughput"), load(folder, "baseline_throughput")
    if throughput:
        add("action throughput (32 clients)", throughput["throughput_per_s"], "commands/s", "≥ baseline",
            base_tp and base_tp["throughput_per_s"], "hand-written baseline, 32 clients")
        add("action throughput vs XADD", throughput["throughput_per_s"], "commands/s", "—", xadd32.get("per_s"), "redis-benchmark XADD, 32 clients")
    compile_ = load(folder, "compile")
    if compile_:
        add("definition compile p50 (50 stages)", round(compile_["p50_us"] / 1000, 3), "ms", "≤ 1 ms")
    ready = load(folder, "start_to_ready")
    if ready:
        add("service start → ready (slowest)", ready["max_ready_ms"], "ms", "≤ 50 ms")
    sync = load(folder, "gateway_sync")
    if sync:
        add("parallel gateway sync p50 (10 branches)", sync["sync_p50_ms"], "ms", "≤ 1 ms", xadd1.get("p50_ms"), "redis-benchmark XADD p50, 1 client")
    dashboard = load(folder, "dashboard")
    if dashboard:
        add(f"dashboard query, a {dashboard['items_per_page']}-item queue page (HTTP) p50", dashboard["query_p50_ms"], "ms", "≤ 5 ms")
        add("Redis memory per record, history included", dashboard["bytes_per_record"], "bytes", "≤ 1 KiB")
    pending = load(folder, "dashboard_pending")
    if pending:
        label = f"a {pending['http_first_items']}-item pending page, {pending['records']:,} records"
        add(f"dashboard query, {label} (HTTP) p50", pending["http_first_p50_ms"], "ms", "≤ 5 ms")
        add(f"dashboard query, {label} (in Redis + decoding) p50", pending["first_p50_ms"], "ms", "≤ 5 ms")
        add("dashboard projection memory per record", pending["projection_bytes_per_record"], "bytes", "—")
    for name in ("timers_10s", "timers_2s"):
        timers = load(folder, name)
        if timers:
            label = f"{timers['timers']:,} timers over {timers['spread_ms'] // 1000} s"
            add(f"SLA sweep p50, {label}", timers["sweep_p50_ms"], "ms", "≤ 20 ms")
            add(f"timer lateness p99, {label}", timers["late_p99_ms"], "ms", "≤ 10 ms")
    return rows


def table(rows):
    print(f"{'figure':46} {'value':>10} {'unit':11} {'target':22} {'ceiling':>9}  ratio")
    for r in rows:
        ceiling = "" if r["ceiling"] is None else f"{r['ceiling']:g}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:g}×"
        print(f"{r['name']:46} {r['value']:>10g} {r['unit']:11} {r['target']:22} {ceiling:>9}  {ratio}")


if __name__ == "__main__":
    if sys.argv[1] == "--table":
        table(json.load(open(sys.argv[2])))
    else:
        print(json.dumps(results(sys.argv[1], sys.argv[2]), indent=2, ensure_ascii=False))
