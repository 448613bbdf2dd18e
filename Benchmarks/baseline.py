#!/usr/bin/env python3
"""The hand-written baseline of DESIGN §5: what a user would write instead of the engine.

A consumer reads commands with XREADGROUP, applies each with one EVALSHA (a version-checked HSET of
the record, the outcome XADDed to an events stream and pushed to a reply list, an idempotency mark)
and acknowledges the batch with XACK, pipelined. Clients XADD a command and BLPOP its reply.

  baseline.py --socket PATH consume                      # run the consumer (until killed)
  baseline.py --socket PATH latency --commands 2000 [--samples FILE]   # one client: p50/p99 in ms, as JSON
  baseline.py --socket PATH throughput --commands 20000 --clients 32
"""
import argparse, json, multiprocessing, os, statistics, sys, time, uuid

import redis

STREAM, GROUP, EVENTS = "base:{s0}:cmd", "base", "base:{s0}:events"
APPLY = """
local prior = redis.call('GET', KEYS[1])
if prior then redis.call('RPUSH', KEYS[3], prior) return 0 end
local version = tonumber(redis.call('HGET', KEYS[4], 'v') or '0')
redis.call('HSET', KEYS[4], 'v', version + 1, 'd', ARGV[1])
redis.call('XADD', KEYS[2], '*', 'envelope', ARGV[2])
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('EXPIRE', KEYS[3], 300)
redis.call('SET', KEYS[1], ARGV[2], 'EX', 604800)
return 1
"""


def connect(socket):
    return redis.Redis(unix_socket_path=socket)


def consume(socket):
    r = connect(socket)
    try:
        r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError:
        pass
    sha = r.script_load(APPLY)
    print("ready", flush=True)
    while True:
        batch = r.xreadgroup(GROUP, "c1", {STREAM: ">"}, count=64, block=1000)
        for _, entries in batch or []:
            pipe = r.pipeline(transaction=False)
            for entry_id, fields in entries:
                command = json.loads(fields[b"envelope"])
                outcome = json.dumps({"type": "command.accepted", "causationId": command["id"], "payload": {"recordId": command["payload"]["leadId"]}})
                keys = [f"base:{{s0}}:idem:{command['id']}", EVENTS, f"base:{{s0}}:reply:{command['id']}", f"base:{{s0}}:lead:{command['payload']['leadId']}"]
                pipe.evalsha(sha, 4, *keys, json.dumps(command["payload"]), outcome)
            pipe.xack(STREAM, GROUP, *[entry_id for entry_id, _ in entries])
            pipe.execute()


def send(r, index, run):
    command_id = str(uuid.uuid4())
    envelope = json.dumps({"id": command_id, "type": "lead.create", "payload": {"leadId": f"B-{run}-{index}", "data": {"score": index % 100}}})
    started = time.perf_counter()
    r.xadd(STREAM, {"envelope": envelope})
    r.blpop(f"base:{{s0}}:reply:{command_id}", timeout=30)
    return (time.perf_counter() - started) * 1000


def latency(socket, commands, samples_path=None):
    r = connect(socket)
    run = uuid.uuid4().hex[:8]
    for index in range(min(200, commands)):
        send(r, -index - 1, run)  # warm-up
    samples = sorted(send(r, index, run) for index in range(commands))
    if samples_path:
        with open(samples_path, "w") as handle:
            handle.write("\n".join(f"{x:.4f}" for x in samples))
    return {"commands": commands, "p50_ms": round(samples[len(samples) // 2], 3), "p99_ms": round(samples[int(len(samples) * 0.99)], 3)}


def _worker(args):
    socket, count, run = args
    r = connect(socket)
    return [send(r, index, run) for index in range(count)]


def throughput(socket, commands, clients):
    per = commands // clients
    started = time.perf_counter()
    with multiprocessing.Pool(clients) as pool:
        parts = pool.map(_worker, [(socket, per, f"{uuid.uuid4().hex[:6]}-{n}") for n in range(clients)])
    elapsed = time.perf_counter() - started
    samples = sorted(x for part in parts for x in part)
    return {"commands": per * clients, "clients": clients, "throughput_per_s": round(per * clients / elapsed),
            "p50_ms": round(samples[len(samples) // 2], 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", required=True)
    parser.add_argument("mode", choices=["consume", "latency", "throughput"])
    parser.add_argument("--commands", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--samples", help="latency: write each command's latency (ms), one per line, to this file")
    options = parser.parse_args()
    if options.mode == "consume":
        consume(options.socket)
    elif options.mode == "latency":
        print(json.dumps(latency(options.socket, options.commands, options.samples)))
    else:
        print(json.dumps(throughput(options.socket, options.commands, options.clients)))


if __name__ == "__main__":
    main()
