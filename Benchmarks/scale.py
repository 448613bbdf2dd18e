#!/usr/bin/env python3
"""make bench's scale step: fills a tenant up to --total active leads by copying one lead the
services created (its record, its assignment and its queue entry, with the id changed) straight
into Redis with redis-cli --pipe — as the services store them, without their history — then
reports Redis memory per record (the growth of used_memory over the copies, and MEMORY USAGE of
sampled copies per key kind).

  scale.py --socket PATH --tenant T --template D-0 --total 100000
Prints one JSON line. The copies are assigned to users copy-<n>, 1,000 each, so a user's queue
page stays 1,000 items."""
import argparse, json, subprocess, time, zlib

import redis


def resp(*parts):
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        if isinstance(part, str):
            part = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--template", default="D-0", help="a lead the services created and assigned")
    parser.add_argument("--total", type=int, required=True, help="copies are added until the tenant has this many leads")
    options = parser.parse_args()
    r = redis.Redis(unix_socket_path=options.socket)
    tenant = options.tenant
    tag = "{s%d}" % (zlib.crc32(tenant.encode()) % 4)
    prefix = f"crm:{tag}:t:{tenant}"
    template = options.template
    record = r.hgetall(f"{prefix}:lead:{template}")
    assignee = r.hgetall(f"{prefix}:assignee:lead:{template}")
    if not record or not assignee:
        raise SystemExit(f"the template lead {template} of {tenant} has no record or no assignment")
    owner = json.loads(assignee[b"d"])["assignee"]
    entry = r.hget(f"{prefix}:queue:{owner}", f"r:lead:{template}")
    # The leads the services made are counted once; the copies made so far are kept in a counter.
    start = int(r.get(f"bench:{tag}:copies") or 0)
    if r.get(f"bench:{tag}:made") is None:
        r.set(f"bench:{tag}:made", sum(1 for _ in r.scan_iter(match=f"{prefix}:lead:*", count=10000)))
    existing = int(r.get(f"bench:{tag}:made")) + start
    wanted = options.total - existing
    if wanted <= 0:
        print(json.dumps({"records": existing, "added": 0}))
        return
    record_d, assignee_d, entry_d = record[b"d"].decode(), assignee[b"d"].decode(), entry.decode()
    quoted, subject = f'"{template}"', f'"lead:{template}"'
    before = r.info("memory")["used_memory"]
    began = time.perf_counter()
    loader = subprocess.Popen(["redis-cli", "-s", options.socket, "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    chunk = []
    queues = {}
    for n in range(start, start + wanted):
        lead = f"C-{n}"
        user = f"copy-{n // 1000}"
        queues[user] = queues.get(user, 0) + 1
        chunk.append(resp("HSET", f"{prefix}:lead:{lead}", "v", record[b"v"], "d", record_d.replace(quoted, f'"{lead}"')))
        chunk.append(resp("HSET", f"{prefix}:assignee:lead:{lead}", "v", assignee[b"v"],
                          "d", assignee_d.replace(subject, f'"lead:{lead}"').replace(f'"{owner}"', f'"{user}"')))
        chunk.append(resp("HSET", f"{prefix}:queue:{user}", f"r:lead:{lead}", entry_d.replace(subject, f'"lead:{lead}"')))
        if len(chunk) >= 30000:
            loader.stdin.write(b"".join(chunk))
            chunk.clear()
    for user, count in queues.items():
        chunk.append(resp("HINCRBY", f"{prefix}:queue:{user}", "n", str(count)))
        chunk.append(resp("HINCRBY", f"{prefix}:queue:{user}", "v", "1"))
    chunk.append(resp("SET", f"bench:{tag}:copies", str(start + wanted)))
    loader.stdin.write(b"".join(chunk))
    loader.stdin.close()
    report = loader.stdout.read().decode()
    if loader.wait() != 0 or "errors: 0" not in report:
        raise SystemExit(f"redis-cli --pipe failed: {report}")
    loaded_s = time.perf_counter() - began
    after = r.info("memory")["used_memory"]
    # MEMORY USAGE of sampled copies, per kind of key (a queue's share is its size over its entries).
    sample = [f"C-{n}" for n in range(start, start + wanted, max(1, wanted // 500))]
    p = r.pipeline(transaction=False)
    for lead in sample:
        p.execute_command("MEMORY", "USAGE", f"{prefix}:lead:{lead}", "SAMPLES", "0")
        p.execute_command("MEMORY", "USAGE", f"{prefix}:assignee:lead:{lead}", "SAMPLES", "0")
    sizes = p.execute()
    queue_user = f"copy-{start // 1000}"
    queue_bytes = r.execute_command("MEMORY", "USAGE", f"{prefix}:queue:{queue_user}", "SAMPLES", "0")
    queue_entries = max(1, r.hlen(f"{prefix}:queue:{queue_user}") - 2)
    print(json.dumps({
        "records": existing + wanted, "added": wanted, "load_s": round(loaded_s, 1),
        "bytes_per_record": round((after - before) / wanted),
        "record_hash_bytes": round(sum(sizes[0::2]) / len(sample)), "assignment_hash_bytes": round(sum(sizes[1::2]) / len(sample)),
        "queue_entry_bytes": round(queue_bytes / queue_entries),
        "record_encoding": r.object("encoding", f"{prefix}:lead:C-{start}").decode(),
        "used_memory_mb": round(after / 2**20),
    }))


if __name__ == "__main__":
    main()
