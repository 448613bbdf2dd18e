#!/usr/bin/env python3
"""Turns the figures make bench measured (.bench/figures/*.json) into .bench/results.json — one object
per figure: name, value, unit, target, met, ceiling (the same run's redis-benchmark figure for the
equivalent Redis work, or the hand-written baseline), ratio (value / ceiling), and what limits it
when the target is missed — and prints them as a table.

  report.py FIGURES_DIR FSYNC MACHINE > results.json
  report.py --table results.json      # the table
  report.py --markdown results.json   # the table as README markdown
  report.py --check results.json      # missed targets, with what limits each; fails only if a figure is missing
  report.py --machine                 # this machine, in one line"""
import json, os, platform, re, subprocess, sys

# What limits a figure when it misses its target (from profiling and the per-key memory breakdown).
LIMITS = {
    "latency": "every command is two fsync'd writes like the baseline's (the client's XADD, the service's commit script) plus the "
               "service's read of the record before deciding; the audit append and the other services' reactions to the same "
               "events are writes too, and under AOF always Redis fsyncs before answering anything written in the same loop",
    "throughput": "CPU: 2 cores shared by Redis, six service processes and the 32-client load generator; each command is read, "
                  "decided and encoded by pipeline-service and its events read again by audit-, assignment- and sla-timer-service",
    "dashboard": "the queue page reads the user's whole queue hash and each record's document, decoding 2,000 JSON documents and "
                 "encoding a 1,000-item response in the gateway; the dashboard projection serves pages precomputed",
    "projection": "a page is two round trips (ZRANGE of the index, HMGET of 1,000 rows of about 230 bytes each) and the rows are "
                  "parsed and written again as the response body; over HTTP the ~230 KB body is also copied through the gateway",
    "memory": "history, not state: each command leaves its events, their audit copies and index, and idempotency marks holding "
              "the outcome for CRM_IDEMPOTENCY_TTL_S (7 days); the record's own state is the figure at 1,000,000",
    "gateway": "the last branch's command is a whole action (its XADD, the record read and the commit, each waiting for Redis) — "
               "the join itself is written in the same commit, so it is bound by the action latency",
    "compile": "parsing and type-checking 196 expressions and checking reachability, in one thread",
    "lateness": "a burst of due timers is claimed and fired in batches of 500, a claim script and a completion script each, "
                "on 2 cores shared with Redis and the other services",
    "sweep": "the claim script's ZRANGEBYSCORE and lease writes",
    "consumers": "the claim and completion scripts of every consumer run one at a time in Redis, on the same shard's due set, "
                 "and the 2 cores are shared: more consumers mostly add contention",
    "ready": "process start, connecting and creating the consumer groups",
}


def load(folder, name):
    path = os.path.join(folder, f"{name}.json")
    return json.load(open(path)) if os.path.exists(path) else None


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = platform.platform()
    try:
        info = dict(line.rstrip().split("=", 1) for line in open("/etc/os-release") if "=" in line)
        system = info.get("PRETTY_NAME", system).strip('"')
    except OSError:
        pass
    redis = re.search(r"v=([0-9.]+)", subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout)
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()
    return (f"{os.cpu_count()}-core {cpu}, {memory:.0f} GiB, {system}, Redis {redis.group(1) if redis else '?'}; "
            f"load average {load[0]:.1f} / {load[2]:.1f} (1 / 15 min) when the run ended")


def results(folder, fsync, measured_on):
    rows = []
    c = load(folder, "ceilings") or {}

    def ceil(name, field):
        return (c.get(name) or {}).get(field)

    def add(name, value, unit, target, met=None, ceiling=None, ceiling_of=None, limit=None, detail=None):
        if value is None:
            return
        ratio = round(value / ceiling, 2) if ceiling else None
        row = {"name": name, "value": value, "unit": unit, "target": target, "met": met, "ceiling": ceiling,
               "ceiling_of": ceiling_of, "ratio": ratio, "aof": fsync, "measured_on": measured_on}
        if met is False and limit:
            row["limited_by"] = LIMITS[limit]
        if detail:
            row["detail"] = detail
        rows.append(row)

    latency, baseline = load(folder, "action_latency"), load(folder, "baseline_latency")
    if latency:
        base50 = baseline and baseline["p50_ms"]
        add("action latency p50, 1 client", latency["p50_ms"], "ms", "≤ 1.1 × baseline p50",
            base50 and latency["p50_ms"] <= 1.1 * base50, base50, "hand-written baseline p50, same run", "latency")
        add("action latency p99, 1 client", latency["p99_ms"], "ms", "≤ 1.5 ms", latency["p99_ms"] <= 1.5,
            baseline and baseline["p99_ms"], "hand-written baseline p99, same run", "latency")
        add("action latency p50 vs one XADD", latency["p50_ms"], "ms", "—", None, ceil("xadd_1", "p50_ms"), "redis-benchmark XADD p50, 1 client")
    latency_es, baseline_es = load(folder, "action_latency_everysec"), load(folder, "baseline_latency_everysec")
    if latency_es:
        add("action latency p50, 1 client, AOF everysec", latency_es["p50_ms"], "ms", "≤ 0.4 ms", latency_es["p50_ms"] <= 0.4,
            baseline_es and baseline_es["p50_ms"], "hand-written baseline p50, everysec", "latency")
    throughput, base_tp = load(folder, "action_throughput"), load(folder, "baseline_throughput")
    if throughput:
        base = base_tp and base_tp["throughput_per_s"]
        cpu = load(folder, "throughput_cpu")
        spent = None
        if cpu and cpu["total_ms_per_command"]:
            parts = ", ".join(f"{k} {v:g}" for k, v in sorted(cpu["cpu_ms_per_command"].items(), key=lambda kv: -kv[1]) if v > 0)
            spent = (f"CPU ms per command: {parts}; {cpu['total_ms_per_command']:g} ms in all, so 2 cores allow at most "
                     f"{2000 / cpu['total_ms_per_command']:,.0f}/s before the load generator's share")
        add("action throughput, 32 clients, 4 shards", throughput["throughput_per_s"], "commands/s", "≥ baseline",
            base and throughput["throughput_per_s"] >= base, base, "hand-written baseline, 32 clients", "throughput", spent)
        add("action throughput vs XADD", throughput["throughput_per_s"], "commands/s", "—", None, ceil("xadd_32", "per_s"),
            "redis-benchmark XADD, 32 clients")
    throughput_es, base_tp_es = load(folder, "action_throughput_everysec"), load(folder, "baseline_throughput_everysec")
    if throughput_es:
        add("action throughput, AOF everysec", throughput_es["throughput_per_s"], "commands/s", "≥ 40,000/s",
            throughput_es["throughput_per_s"] >= 40000, base_tp_es and base_tp_es["throughput_per_s"],
            "hand-written baseline, everysec", "throughput")
    page_ceiling = None
    if ceil("dash_page_hgetall", "p50_ms") and ceil("dash_page_hmget_p1000", "per_s"):
        page_ceiling = round(ceil("dash_page_hgetall", "p50_ms") + 1000 / ceil("dash_page_hmget_p1000", "per_s") * 1000, 3)
    scale_100k, scale_1m = load(folder, "scale_100k"), load(folder, "scale_1m")
    for name, records in (("dashboard", 1000), ("dashboard_100k", scale_100k and scale_100k["records"]),
                          ("dashboard_1m", scale_1m and scale_1m["records"])):
        page = load(folder, name)
        if page and records:
            add(f"dashboard: {page['items_per_page']:,}-item queue page p50, {records:,} records", page["query_p50_ms"], "ms", "≤ 5 ms",
                page["query_p50_ms"] <= 5, page_ceiling, "HGETALL of the queue + 1,000 pipelined HMGET (redis-benchmark)", "dashboard")
    pending = load(folder, "dashboard_pending")
    if pending:
        label = f"a {pending['http_first_items']:,}-item pending page, {pending['records']:,} records in the projection"
        add(f"dashboard: {label} (HTTP) p50", pending["http_first_p50_ms"], "ms", "≤ 5 ms",
            pending["http_first_p50_ms"] <= 5, page_ceiling, "as above", "projection")
        add(f"dashboard: {label} (Redis + decoding) p50", pending["first_p50_ms"], "ms", "≤ 5 ms",
            pending["first_p50_ms"] <= 5, page_ceiling, "as above", "projection")
        add("dashboard projection memory per open record", pending["projection_bytes_per_record"], "bytes", "—")
    for name, label in (("scale_1m", "at 1,000,000"), ("scale_100k", "at 100,000")):
        scale = load(folder, name)
        if scale and scale.get("added"):
            add(f"Redis memory per assigned lead (state), {label}", scale["bytes_per_record"], "bytes", "≤ 1 KiB",
                scale["bytes_per_record"] <= 1024, None, None, "memory",
                f"record hash {scale['record_hash_bytes']} B ({scale['record_encoding']}), assignment {scale['assignment_hash_bytes']} B, "
                f"queue entry {scale['queue_entry_bytes']} B; loaded in {scale['load_s']} s")
            break
    memory = load(folder, "memory")
    if memory:
        # Unread replies expire after 5 minutes (the load did not read them; clients do): left out.
        groups = {k: v for k, v in memory["groups"].items() if k != "unread replies"}
        total = sum(v["bytes_per_record"] for v in groups.values())
        listed = ", ".join(f"{k} {v['bytes_per_record']}" for k, v in sorted(groups.items(), key=lambda kv: -kv[1]["bytes"]))
        add("Redis memory per lead with its history (1,000 created and assigned through the services)", total, "bytes", "—",
            None, None, None, None, f"bytes per lead: {listed}")
    for name, suffix in (("timers_10s", ""), ("timers_2s", ""), ("timers_2s_1m", ", 1,000,000 records present")):
        timers = load(folder, name)
        if timers:
            label = f"{timers['timers']:,} timers due over {timers['spread_ms'] // 1000} s{suffix}"
            add(f"SLA sweep p50, {timers['pending_during_sweeps']:,} timers pending (the {label} run)", timers["sweep_p50_ms"], "ms", "≤ 20 ms",
                timers["sweep_p50_ms"] <= 20, ceil("sweep_script_1", "p50_ms"), "redis-benchmark EVAL of the sweep's ZRANGEBYSCORE, p50", "sweep")
            add(f"timer lateness p99, {label}", timers["late_p99_ms"], "ms", "≤ 10 ms", timers["late_p99_ms"] <= 10, None, None, "lateness",
                f"p50 {timers['late_p50_ms']} ms, max {timers['late_max_ms']} ms")
    consumers = [(n, load(folder, f"timer_consumers_{n}")) for n in (1, 2, 3, 4)]
    first = consumers[0][1]
    for n, burst in consumers:
        if burst:
            rises = None if n == 1 or not first else burst["fired_per_s"] > first["fired_per_s"]
            add(f"timer firing, {burst['timers']:,} due at once, {n} sla-timer-service consumer{'s' if n > 1 else ''}", burst["fired_per_s"],
                "timers/s", "rises with consumers, each fires once", rises if burst.get("duplicates", 0) == 0 else False,
                first and first["fired_per_s"], "1 consumer", "consumers", f"duplicates {burst.get('duplicates', 0)}, lateness p99 {burst['late_p99_ms']} ms")
    compile_ = load(folder, "compile")
    if compile_:
        add("definition compile p50 (50 stages, 98 transitions)", round(compile_["p50_us"] / 1000, 3), "ms", "≤ 1 ms",
            compile_["p50_us"] <= 1000, None, None, "compile")
    ready = load(folder, "start_to_ready")
    if ready:
        add("service start → ready (slowest of five)", ready["max_ready_ms"], "ms", "≤ 50 ms", ready["max_ready_ms"] <= 50, None, None, "ready",
            ", ".join(f"{r['service']} {r['ready_ms']}" for r in ready["services"]))
    sync = load(folder, "gateway_sync")
    if sync:
        two_writes = ceil("xadd_1", "p50_ms") and round(2 * ceil("xadd_1", "p50_ms"), 3)
        add("parallel gateway sync p50, 10 branches", sync["sync_p50_ms"], "ms", "≤ 1 ms", sync["sync_p50_ms"] <= 1, two_writes,
            "two fsync'd writes (XADD p50 × 2)", "gateway")
        add("parallel gateway sync p99, 10 branches", sync["sync_p99_ms"], "ms", "≤ 1 ms", sync["sync_p99_ms"] <= 1, two_writes,
            "two fsync'd writes (XADD p50 × 2)", "gateway")
    for bench in load(folder, "microbench") or []:
        add(f"microbench {bench['name']}", bench["median_us"], "µs", "—", None, None, None, None, bench["what"])
    return rows


def required(rows):
    """Figure families that must be present (make bench fails when one could not be measured)."""
    names = " ".join(r["name"] for r in rows)
    needed = ["action latency p50, 1 client", "action throughput, 32 clients", "action throughput, AOF everysec", "dashboard:", "-item pending page",
              "Redis memory per assigned lead", "SLA sweep", "timer lateness", "timer firing", "definition compile", "start → ready",
              "parallel gateway sync", "microbench"]
    return [n for n in needed if n not in names]


def fmt(value):
    return f"{value:,.0f}" if isinstance(value, (int, float)) and abs(value) >= 1000 else f"{value:g}"


def table(rows):
    print(f"{'figure':78} {'value':>10} {'unit':10} {'target':24} {'met':4} {'beside':>9}  ratio")
    for r in rows:
        met = {True: "yes", False: "NO", None: ""}[r["met"]]
        ceiling = "" if r["ceiling"] is None else fmt(r["ceiling"])
        ratio = "" if r["ratio"] is None else f"{r['ratio']:g}×"
        print(f"{r['name'][:78]:78} {fmt(r['value']):>10} {r['unit']:10} {r['target']:24} {met:4} {ceiling:>9}  {ratio}")


def markdown(rows):
    print("| figure | value | target | met | beside (same run) | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        met = {True: "yes", False: "**no**", None: ""}[r["met"]]
        beside = "" if r["ceiling"] is None else f"{fmt(r['ceiling'])} {r['unit']} ({r['ceiling_of']})"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:g}×"
        print(f"| {r['name']} | {fmt(r['value'])} {r['unit']} | {r['target']} | {met} | {beside} | {ratio} |")


def check(rows):
    missed = [r for r in rows if r["met"] is False]
    for r in missed:
        print(f"missed: {r['name']}: {fmt(r['value'])} {r['unit']} (target {r['target']}) — limited by {r.get('limited_by', '?')}")
    absent = required(rows)
    for name in absent:
        print(f"NOT MEASURED: {name}")
    print(f"{len(rows)} figures, {sum(1 for r in rows if r['met'])} targets met, {len(missed)} missed, {len(absent)} not measured")
    return 1 if absent else 0


if __name__ == "__main__":
    if sys.argv[1] == "--machine":
        print(machine())
    elif sys.argv[1] == "--table":
        table(json.load(open(sys.argv[2])))
    elif sys.argv[1] == "--markdown":
        markdown(json.load(open(sys.argv[2])))
    elif sys.argv[1] == "--check":
        sys.exit(check(json.load(open(sys.argv[2]))))
    else:
        print(json.dumps(results(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else machine()), indent=2, ensure_ascii=False))
