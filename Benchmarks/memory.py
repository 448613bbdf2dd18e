#!/usr/bin/env python3
"""Where Redis memory goes: every key of the database, grouped by what it holds (its name's shape),
with MEMORY USAGE summed per group and divided by a record count.

  memory.py --socket PATH --records N [--tenant T] [--sample 0]
Prints one JSON object: per group, keys, bytes and bytes per record; the groups a record's state is
made of (record, assignment, queue entry) and those of its history (events, audit, marks, replies)."""
import argparse, json, re

import redis

# (group, kind, pattern): kind "state" is what an active record needs, "history" what its commands left.
GROUPS = [
    ("record", "state", re.compile(r"^crm:\{s\d+\}:t:[^:]+:(lead|opportunity|contact|case):")),
    ("assignment", "state", re.compile(r"^crm:\{s\d+\}:t:[^:]+:assignee:")),
    ("queue", "state", re.compile(r"^crm:\{s\d+\}:t:[^:]+:queue:")),
    ("sla timers", "state", re.compile(r"^crm:\{s\d+\}:timers?:")),
    ("other tenant data", "state", re.compile(r"^crm:\{s\d+\}:t:")),
    ("audit index per subject", "history", re.compile(r"^crm:\{s\d+\}:audit:hist:")),
    ("audit stream", "history", re.compile(r"^crm:\{s\d+\}:audit$")),
    ("events stream", "history", re.compile(r"^crm:\{s\d+\}:events$")),
    ("command streams", "history", re.compile(r"^crm:\{s\d+\}:cmd:")),
    ("idempotency marks", "history", re.compile(r"^crm:\{s\d+\}:idem:")),
    ("unread replies", "history", re.compile(r"^crm:\{s\d+\}:reply:")),
]


def classify(key):
    for name, kind, pattern in GROUPS:
        if pattern.search(key):
            return name, kind
    return "other", "other"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--match", default="*")
    options = parser.parse_args()
    r = redis.Redis(unix_socket_path=options.socket, decode_responses=False)
    totals = {}
    batch = []

    def flush():
        p = r.pipeline(transaction=False)
        for key in batch:
            p.execute_command("MEMORY", "USAGE", key, "SAMPLES", "0")
        for key, used in zip(batch, p.execute()):
            name, kind = classify(key.decode())
            row = totals.setdefault(name, {"kind": kind, "keys": 0, "bytes": 0})
            row["keys"] += 1
            row["bytes"] += used or 0
        batch.clear()

    for key in r.scan_iter(match=options.match, count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            flush()
    flush()
    for row in totals.values():
        row["bytes_per_record"] = round(row["bytes"] / options.records)
    state = sum(v["bytes"] for v in totals.values() if v["kind"] == "state")
    history = sum(v["bytes"] for v in totals.values() if v["kind"] == "history")
    print(json.dumps({"records": options.records, "state_bytes_per_record": round(state / options.records),
                      "history_bytes_per_record": round(history / options.records), "groups": totals,
                      "used_memory": r.info("memory")["used_memory"]}))


if __name__ == "__main__":
    main()
