"""A bare SMTP server that accepts every message and keeps nothing, for the notifier benchmark:
it measures the sending side without a mailbox's disk writes in the way. `--delay-ms` makes it
answer MAIL, RCPT and the end of DATA that much later, as a relay across a network would.

    python -m bench.smtp_sink --port 2600 [--delay-ms 5]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import threading
from typing import Any

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, delay: float) -> None:
        self.accepted = 0
        self.delay = delay

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        await asyncio.sleep(self.delay)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        await asyncio.sleep(self.delay)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        self.accepted += 1
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    controller = Controller(Sink(args.delay_ms / 1000), hostname=args.host, port=args.port)
    controller.start()
    print(f"sink listening on {args.host}:{args.port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
