#!/usr/bin/env python3
"""make bench's dashboard-projection figure (DESIGN §5, PER-CRM-0330): `crmctl bench-dashboard` loads N
open records into a tenant's dashboard projection and times 1,000-item pages read as the gateway
reads them (Redis + decoding); then the same pages are timed through the gateway over HTTP
(GET /v1/tenants/{t}/dashboard/pending?limit=1000, one kept-alive connection).

  dashboard_pending.py --socket PATH --gateway URL --crmctl PATH [--records 100000] [--reads 100]
Prints one JSON line: crmctl's figures plus http_first_p50_ms/p99 and http_filtered_p50_ms/p99."""
import argparse, http.client, json, subprocess, time, urllib.parse, uuid, zlib

import redis


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--gateway", required=True)
    parser.add_argument("--crmctl", required=True)
    parser.add_argument("--tenant", default="bench-dashq")
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--reads", type=int, default=100)
    options = parser.parse_args()
    tenant = options.tenant
    figures = json.loads(subprocess.run([options.crmctl, "bench-dashboard", "--tenant", tenant, "--records", str(options.records),
                                         "--reads", str(options.reads)], capture_output=True, text=True, check=True).stdout)

    r = redis.Redis(unix_socket_path=options.socket)
    stream = f"crm:{{s{zlib.crc32(tenant.encode()) % 4}}}:cmd:assignment"
    r.xadd(stream, {"envelope": json.dumps({
        "id": str(uuid.uuid4()), "type": "directory.put_user", "version": 1, "kind": "command", "tenant": tenant, "actor": "boss",
        "occurredAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "payload": {"userId": "boss", "roles": ["admin"]}})})
    deadline = time.time() + 60
    while time.time() < deadline:
        groups = r.xinfo_groups(stream)
        if groups and all(g["lag"] == 0 and g["pending"] == 0 for g in groups):
            break
        time.sleep(0.05)
    key = subprocess.run([options.crmctl, "apikey", "create", "--tenant", tenant, "--actor", "boss", "--user", "boss"],
                         capture_output=True, text=True, check=True).stdout.strip()

    url = urllib.parse.urlparse(options.gateway)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    for name, query in [("first", "limit=1000"), ("filtered", "limit=1000&owner=rep-0&sla=at_risk")]:
        samples, items = [], 0
        for _ in range(options.reads + 5):
            started = time.perf_counter()
            connection.request("GET", f"/v1/tenants/{tenant}/dashboard/pending?{query}", headers={"authorization": f"Bearer {key}"})
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"GET dashboard/pending?{query}: {response.status} {body[:300]!r}")
            samples.append((time.perf_counter() - started) * 1000)
        items = len(json.loads(body)["items"])
        samples = sorted(samples[5:])
        figures[f"http_{name}_items"] = items
        figures[f"http_{name}_p50_ms"] = round(samples[len(samples) // 2], 3)
        figures[f"http_{name}_p99_ms"] = round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
