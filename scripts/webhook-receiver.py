#!/usr/bin/env python3
"""A webhook receiver for Nexus CRM's integration-service: the reference for verifying its requests,
and the receiver the tests run.

    scripts/webhook-receiver.py --secret S [--port 0] [--port-file F] [--log F]
                                [--fail N --status 503] [--hang-first-ms MS] [--hang-ms MS] [--always STATUS]

Each request is checked as a receiver should (services/integration-service/README.md):
  * X-CRM-Timestamp is within 5 minutes of this machine's clock;
  * X-CRM-Signature is "sha256=" + hex HMAC-SHA256(secret, "<X-CRM-Timestamp>.<raw body>"),
    compared in constant time;
  * Idempotency-Key names the call: a key answered with success before is answered the same way
    again without doing the work twice.
One JSON line per request goes to --log: arrival time, headers, body, whether the signature holds,
and the status answered. --fail N answers --status to the first N requests, --always answers STATUS
to every one, --hang-first-ms holds the first request that long before answering, --hang-ms every one.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 300


def signature_holds(secret: bytes, timestamp: str, body: bytes, header: str) -> bool:
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(time.time() - sent_at) > TOLERANCE_SECONDS:
        return False
    expected = "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header or "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secret", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--log")
    parser.add_argument("--fail", type=int, default=0)
    parser.add_argument("--status", type=int, default=503)
    parser.add_argument("--always", type=int)
    parser.add_argument("--hang-first-ms", type=int, default=0)
    parser.add_argument("--hang-ms", type=int, default=0)
    options = parser.parse_args()
    secret = options.secret.encode()
    lock = threading.Lock()
    state = {"requests": 0, "done": {}}

    def log(record: dict) -> None:
        if options.log:
            with lock, open(options.log, "a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")

    class Receiver(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            arrived = time.time()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                state["requests"] += 1
                number = state["requests"]
            key = self.headers.get("Idempotency-Key")
            verified = signature_holds(secret, self.headers.get("X-CRM-Timestamp"), body, self.headers.get("X-CRM-Signature"))
            record = {"n": number, "arrived": arrived, "key": key, "verified": verified, "body": body.decode("utf-8", "replace"),
                      "operation": self.headers.get("X-CRM-Operation"), "attempt": self.headers.get("X-CRM-Attempt"),
                      "callId": self.headers.get("X-CRM-Call-Id"), "tenant": self.headers.get("X-CRM-Tenant")}
            log(dict(record, phase="received"))
            if number == 1 and options.hang_first_ms:
                time.sleep(options.hang_first_ms / 1000)
            if options.hang_ms:
                time.sleep(options.hang_ms / 1000)
            if not verified:
                status = 401
            elif options.always:
                status = options.always
            elif number <= options.fail:
                status = options.status
            else:
                status = 200
            duplicate = False
            with lock:
                if status == 200 and key in state["done"]:
                    duplicate = True
                elif status == 200:
                    state["done"][key] = number
            answer = json.dumps({"received": key, "duplicate": duplicate}).encode() if status == 200 else b"{}"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            log(dict(record, phase="answered", status=status, duplicate=duplicate))

        def log_message(self, *args) -> None:  # quiet: the JSON log says it all
            pass

    server = ThreadingHTTPServer(("127.0.0.1", options.port), Receiver)
    server.daemon_threads = True
    if options.port_file:
        with open(options.port_file + ".tmp", "w") as out:
            out.write(str(server.server_address[1]))
        os.replace(options.port_file + ".tmp", options.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
