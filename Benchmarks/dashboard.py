#!/usr/bin/env python3
"""make bench's dashboard figure: N leads assigned to one user, then a page of all of them read
through the gateway (GET /v1/tenants/{t}/users/{u}/queue?limit=N), timed; and Redis memory per
record (INFO memory before and after the load, over every key the load wrote).

  dashboard.py --socket PATH --gateway URL --crmctl PATH [--records 1000] [--reads 50] [--key-out FILE]
  dashboard.py --socket PATH --gateway URL --query-only --key-file FILE   # the page again (after scale.py)
Prints one JSON line."""
import argparse, json, subprocess, time, urllib.request, uuid, zlib

import redis


def envelope(kind, payload, tenant):
    return json.dumps({"id": str(uuid.uuid4()), "type": kind, "version": 1, "kind": "command", "tenant": tenant, "actor": "boss",
                       "occurredAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "payload": payload})


def time_queue_page(gateway, tenant, user, key, limit, reads):
    """Reads the page `reads` times after 5 untimed reads; returns (items, sorted samples in ms)."""
    url = f"{gateway}/v1/tenants/{tenant}/users/{user}/queue?limit={limit}"
    samples = []
    for _ in range(reads + 5):
        request = urllib.request.Request(url, headers={"authorization": f"Bearer {key}"})
        started = time.perf_counter()
        body = urllib.request.urlopen(request, timeout=30).read()
        samples.append((time.perf_counter() - started) * 1000)
    return len(json.loads(body)["items"]), sorted(samples[5:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--tenant", default="bench-dash")
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--crmctl")
    parser.add_argument("--key-out", help="write the API key made for the reads here")
    parser.add_argument("--query-only", action="store_true", help="only read the page again, with the key of --key-file")
    parser.add_argument("--key-file")
    options = parser.parse_args()
    r = redis.Redis(unix_socket_path=options.socket)
    tenant = options.tenant
    if options.query_only:
        items, samples = time_queue_page(options.gateway, tenant, "rep", open(options.key_file).read().strip(), 1000, options.reads)
        print(json.dumps({"items_per_page": items, "query_p50_ms": round(samples[len(samples) // 2], 3),
                          "query_p99_ms": round(samples[int(len(samples) * 0.99)], 3)}))
        return
    shard = zlib.crc32(tenant.encode()) % 4
    pipeline_stream, assignment_stream = f"crm:{{s{shard}}}:cmd:pipeline", f"crm:{{s{shard}}}:cmd:assignment"

    def send(stream, commands, timeout=300):
        p = r.pipeline(transaction=False)
        for command in commands:
            p.xadd(stream, {"envelope": command})
        p.execute()
        deadline = time.time() + timeout
        while time.time() < deadline:
            groups = r.xinfo_groups(stream)
            if groups and all(g["lag"] == 0 and g["pending"] == 0 for g in groups):
                return
            time.sleep(0.05)
        raise SystemExit(f"{stream} did not drain")

    send(assignment_stream, [envelope("directory.put_user", {"userId": "boss", "roles": ["admin"]}, tenant),
                             envelope("directory.put_user", {"userId": "rep", "roles": ["sales"], "teams": ["sales"]}, tenant)])
    send(pipeline_stream, [envelope("definition.publish", {"entity": "lead", "name": "bench", "stages": [{"name": "new", "initial": True}]}, tenant)])
    before = r.info("memory")["used_memory"]
    keys_before = r.dbsize()
    for start in range(0, options.records, 500):
        ids = range(start, min(start + 500, options.records))
        send(pipeline_stream, [envelope("lead.create", {"leadId": f"D-{i}", "data": {"name": f"Lead {i}", "score": i % 100}}, tenant) for i in ids])
        send(assignment_stream, [envelope("assignment.request", {"subject": f"lead:D-{i}", "strategy": "manual", "assignee": "rep"}, tenant) for i in ids])
    # The events' readers (audit, the other services) finish too, so the reads below are timed alone.
    events = f"crm:{{s{shard}}}:events"
    deadline = time.time() + 120
    while time.time() < deadline and not all(g["lag"] == 0 and g["pending"] == 0 for g in r.xinfo_groups(events)):
        time.sleep(0.05)
    after = r.info("memory")["used_memory"]
    key = subprocess.run([options.crmctl, "apikey", "create", "--tenant", tenant, "--actor", "boss", "--user", "boss"],
                         capture_output=True, text=True, check=True).stdout.strip() if options.crmctl else ""
    if options.key_out:
        with open(options.key_out, "w") as handle:
            handle.write(key)
    items, samples = time_queue_page(options.gateway, tenant, "rep", key, options.records, options.reads)
    print(json.dumps({"records": options.records, "items_per_page": items, "query_p50_ms": round(samples[len(samples) // 2], 3),
                      "query_p99_ms": round(samples[int(len(samples) * 0.99)], 3),
                      "bytes_per_record": round((after - before) / options.records), "keys_per_record": round((r.dbsize() - keys_before) / options.records, 2)}))


if __name__ == "__main__":
    main()
