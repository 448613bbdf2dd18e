#!/usr/bin/env python3
"""An SMTP sink for the email tests of integration-service: accepts mail on a loopback port and logs
each message as a JSON line (envelope, headers, body).

    scripts/smtp-sink.py --port-file F --log F [--fail N --code 451] [--always CODE]

--fail N answers the DATA of the first N messages with --code (451: try later), --always answers
every DATA with CODE (e.g. 550: never). Refused messages are logged too, with "accepted": false.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import json
import os
import threading
import time

from aiosmtpd.smtp import SMTP


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--fail", type=int, default=0)
    parser.add_argument("--code", type=int, default=451)
    parser.add_argument("--always", type=int)
    options = parser.parse_args()
    lock = threading.Lock()
    count = {"n": 0}

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
            with lock:
                count["n"] += 1
                number = count["n"]
            message = email.message_from_bytes(envelope.original_content or envelope.content)
            code = options.always or (options.code if number <= options.fail else 250)
            record = {"n": number, "arrived": time.time(), "from": envelope.mail_from, "to": envelope.rcpt_tos,
                      "headers": {key: value for key, value in message.items()},
                      "body": message.get_payload(decode=True).decode("utf-8", "replace"), "accepted": code == 250}
            with lock, open(options.log, "a", encoding="utf-8") as out:
                out.write(json.dumps(record) + "\n")
            return "250 OK" if code == 250 else f"{code} refused by the test sink"

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(lambda: SMTP(Sink()), "127.0.0.1", 0))
    with open(options.port_file + ".tmp", "w") as out:
        out.write(str(server.sockets[0].getsockname()[1]))
    os.replace(options.port_file + ".tmp", options.port_file)
    loop.run_forever()


if __name__ == "__main__":
    main()
