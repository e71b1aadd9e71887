"""Benchmark of the notifier's sending: emails/s through its courier and mailer (each email
recorded in Kafka, acknowledged, before the next is committed) with 1 and with 8 SMTP
connections, next to a bare aiosmtplib loop over 8 connections to the same server in the same
run, as a ratio; then end to end for a bulk issue through the real services (the API accepting
the offers until the SMTP server has accepted every email).

    bash deploy/local/infra.sh start && eval "$(bash deploy/local/infra.sh env)"
    uv run python -m bench.notifier [--emails 1000] [--offers 10000] [--server sink|mailbox]
        [--relay-delay-ms 0,5] [--render-processes 0,1]

`--server sink` (the default) starts a bare aiosmtpd server that keeps nothing (bench/smtp_sink.py)
in a process of its own, once per `--relay-delay-ms` (how much later it answers MAIL, RCPT and
the end of DATA, as a relay across a network would; the end to end runs against the first);
`mailbox` sends to the shared mailbox at SMTP_HOST:SMTP_PORT, which writes two files per
message. "8 connections, 8 duplicates" is the notifier with NOTIFIER_SMTP_DUPLICATES_PER_CRASH=8:
eight messages accepted side by side and recorded with one acknowledgement.

The same messages (real offer emails, with their QR code) go to every side, rendered and
flattened before the clock starts, as the notifier's render worker gives them (FlatMessage):
"bare 8" is aiosmtplib's sendmail of those bytes. "bare 8 flattening each" is send_message of
the unflattened messages, the baseline before the worker flattened them (kept to compare).
"the promise's floor 8" is the least any sender that keeps "at most one duplicate per crash"
does: 8 connections, everything before a message's last line side by side, the last lines one
at a time, each followed by its EmailSent and Kafka's acknowledgement before the next.

What bounds the notifier with one duplicate per crash at most: that floor. A crash leaves
unrecorded every message whose last line went out and whose record Kafka has not acknowledged;
two of them at once would be two duplicates, so one email per (last line's round trip to the
server + Kafka's acknowledgement of its record), across all connections. The bare loop has no
such chain: its 8 connections accept side by side. Against a relay that answers late the floor
falls far below the bare loop (5 ms for the last line alone is at most 200 emails/s); only
NOTIFIER_SMTP_DUPLICATES_PER_CRASH above 1 passes it. What the notifier adds above the floor
is its unit of work (each record claimed and applied in PostgreSQL) and its CPU on the same
cores as the sink, Kafka and PostgreSQL.

What bounds the end to end: rendering offers' messages (the QR code above all, ~5 ms of pure
Python each, ~8 ms for the whole email and its flattening). They render and flatten in worker
processes (NOTIFIER_RENDER_PROCESSES, 1 by default) while the event loop consumes, reads and
sends; `--render-processes 1,2` runs both in one go. Each offer's claim link is its own, so no
rendering repeats within a bulk issue (a cache of QR codes per link would not help it).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
from aiokafka import AIOKafkaProducer

from bench.badge_pipeline import drop_schemas
from bench.issue_pipeline import bench_offer_email, end_to_end
from contracts import Envelope, encode, new_envelope
from contracts.notifier import TOPIC, EmailDeferred, EmailFailed, EmailSent
from services.kernel import store
from services.kernel.handlers import Handlers
from services.kernel.publisher import EventPublisher, WriteUnavailable
from services.kernel.settings import KernelSettings
from services.kernel.topics import ensure_topics
from services.kernel.unit_of_work import UnitOfWork
from services.local_runner import SERVICES, LocalPlatform, free_port
from services.notifier.adapters.smtp import FlatMessage, Mailer
from services.notifier.delivery import Composed, Courier, Email
from services.notifier.domain.attempts import FIRST
from services.notifier.domain.schedule import RetryPolicy
from services.notifier.settings import NotifierSettings

_DOUBLED_PERIOD = re.compile(rb"(?m)^\.\.")
BATCH = 500  # records the consumer applies in one transaction
DISTINCT = 50  # messages rendered; the others are copies with their own recipient


def messages(count: int, domain: str) -> list[FlatMessage]:
    """Offer emails as the notifier's render worker gives them: rendered and flattened."""
    rendered = []
    for n in range(min(count, DISTINCT)):
        rendered.append(bench_offer_email(f"learner{n}@{domain}"))
    found = []
    for n in range(count):
        message = copy.deepcopy(rendered[n % len(rendered)])
        message.replace_header("To", f"learner{n}@{domain}")
        found.append(FlatMessage.of(message))
    return found


def flat_for_sendmail(message: FlatMessage) -> bytes:
    """The flattened message as aiosmtplib's sendmail takes it (it makes the DATA lines)."""
    return _DOUBLED_PERIOD.sub(b".", message.data)


async def bare_loop(host: str, port: int, batch: list[FlatMessage], connections: int) -> float:
    """aiosmtplib's sendmail of the same flattened messages over `connections` connections,
    as fast as they go."""
    plain = [(m.sender, m.recipients, flat_for_sendmail(m)) for m in batch]
    queue: Iterator[tuple[str, list[str], bytes]] = iter(plain)

    async def sender() -> None:
        client = aiosmtplib.SMTP(hostname=host, port=port)
        await client.connect()
        for sender, recipients, data in queue:
            await client.sendmail(sender, recipients, data)
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(connections)))
    return time.perf_counter() - started


async def bare_flattening_loop(
    host: str, port: int, batch: list[EmailMessage], connections: int
) -> float:
    """aiosmtplib's send_message, which flattens each message itself, as the notifier did on
    its event loop before its render worker flattened them (the ratio's baseline until then)."""
    queue: Iterator[EmailMessage] = iter(batch)

    async def sender() -> None:
        client = aiosmtplib.SMTP(hostname=host, port=port)
        await client.connect()
        for message in queue:
            await client.send_message(message)
        await client.quit()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(connections)))
    return time.perf_counter() - started


async def promise_floor(
    settings: KernelSettings, host: str, port: int, batch: list[FlatMessage], connections: int
) -> float:
    """The least any sender that keeps "at most one duplicate per crash" does: aiosmtplib over
    `connections` connections, everything before a message's last line side by side, the last
    lines one at a time, each message's record (an EmailSent) acknowledged by Kafka before the
    next last line goes. No unit of work, no PostgreSQL, no retry schedule: the chain alone."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=0,
    )
    await producer.start()
    topic = settings.topic(TOPIC)
    turn = asyncio.Lock()
    queue: Iterator[FlatMessage] = iter(batch)

    async def sender() -> None:
        client = aiosmtplib.SMTP(hostname=host, port=port)
        await client.connect()
        for message in queue:
            await client.mail(message.sender)
            for recipient in message.recipients:
                await client.rcpt(recipient)
            started = await client.execute_command(b"DATA")
            assert started.code == 354, started
            assert client.protocol is not None
            client.protocol.write(message.data)
            async with turn:
                answer = await client.execute_command(b".")
                assert answer.code == 250, answer
                email_id = uuid.uuid4()
                record = new_envelope(
                    EmailSent(
                        cause_event_id=uuid.uuid4(),
                        kind="offer",
                        recipient=message.recipients[0],
                        subject=str(message["Subject"]),
                        attempts=1,
                    ),
                    stream_id=email_id,
                    stream_version=1,
                    actor="service:notifier",
                )
                await (await producer.send(topic, encode(record), key=str(email_id).encode()))
        await client.quit()

    try:
        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(connections)))
        return time.perf_counter() - started
    finally:
        await producer.stop()


class Outcomes:
    def __init__(self) -> None:
        self.sent = 0
        self.not_sent = 0

    async def sent_one(self, uow: UnitOfWork, envelope: Envelope[Any]) -> None:
        self.sent += 1

    async def not_sent_one(self, uow: UnitOfWork, envelope: Envelope[Any]) -> None:
        self.not_sent += 1


async def through_the_notifier(
    settings: KernelSettings,
    host: str,
    port: int,
    batch: list[FlatMessage],
    connections: int,
    duplicates: int = 1,
) -> float:
    """The notifier's courier and mailer, with its records appended to Kafka and claimed in
    PostgreSQL as the consumer does, in transactions of BATCH emails."""
    schema = settings.schema_name(f"bench_courier_{connections}")
    pool = await store.create_pool(settings.database_url, schema, max_size=2)
    await store.migrate(pool, "SELECT 1;")
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers, {TOPIC: settings.topic(TOPIC)}, write_timeout=30
    )
    await publisher.start()
    outcomes = Outcomes()
    handlers = (
        Handlers()
        .project(EmailSent, outcomes.sent_one)
        .project(EmailFailed, outcomes.not_sent_one)
        .project(EmailDeferred, outcomes.not_sent_one)
    )
    notifier_settings = NotifierSettings(
        smtp_host=host, smtp_port=port, smtp_connections=connections
    )
    mailer = Mailer(notifier_settings)
    courier = Courier(mailer, RetryPolicy.of(notifier_settings), connections, duplicates)

    def email(message: FlatMessage) -> Email:
        async def render() -> EmailMessage:
            return message

        composed = Composed("offer", str(message["To"]), render, uuid.uuid4())
        return Email(composed, uuid.uuid4(), uuid.uuid4(), None)

    emails = [email(message) for message in batch]
    try:
        started = time.perf_counter()
        for at in range(0, len(emails), BATCH):
            while True:
                try:
                    async with pool.acquire() as conn, conn.transaction():
                        uow = UnitOfWork(conn, publisher, handlers, TOPIC)
                        for one in emails[at : at + BATCH]:
                            await courier.attempt(uow, one, FIRST)
                        await uow.flush()
                    break
                except WriteUnavailable as error:
                    # As the consumer does: the batch again (what was mailed is not mailed
                    # again, its records come from the courier's memory).
                    print(f"    Kafka did not take a record ({error.message}); batch again")
                    await asyncio.sleep(0.5)
        elapsed = time.perf_counter() - started
    finally:
        await mailer.close()
        await publisher.stop()
        await pool.close()
        await store.drop_schema(settings.database_url, schema)
    assert outcomes.sent >= len(batch), f"{outcomes.sent} sent, {outcomes.not_sent} not sent"
    return elapsed


def start_sink(delay_ms: float) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "bench.smtp_sink", "--port", str(port), "--delay-ms", str(delay_ms)],
        stdout=subprocess.PIPE,
    )
    assert sink.stdout is not None
    sink.stdout.readline()  # "sink listening on ..."
    return sink, port


def rate(count: int, seconds: float) -> str:
    return f"{count} in {seconds:.2f} s = {count / seconds:,.0f} emails/s"


async def sending(
    settings: KernelSettings, host: str, port: int, count: int, domain: str
) -> dict[str, float]:
    await ensure_topics(settings)
    batch = messages(count, domain)
    found = {}

    def shown(name: str, seconds: float) -> None:
        found[name] = seconds
        print(f"  {name:>26} connection(s): {rate(count, seconds)}", flush=True)

    shown("bare 8", await bare_loop(host, port, batch, 8))
    shown("promise's floor 8", await promise_floor(settings, host, port, batch, 8))
    shown("notifier 1", await through_the_notifier(settings, host, port, batch, 1))
    shown("notifier 8", await through_the_notifier(settings, host, port, batch, 8))
    shown(
        "notifier 8, 8 duplicates",
        await through_the_notifier(settings, host, port, batch, 8, duplicates=8),
    )
    shown("bare 8, again", await bare_loop(host, port, batch, 8))
    shown("promise's floor 8, again", await promise_floor(settings, host, port, batch, 8))
    unflattened = [bench_offer_email(m.recipients[0]) for m in batch[:DISTINCT]]
    flattening = [unflattened[n % len(unflattened)] for n in range(count)]
    shown("bare 8 flattening each", await bare_flattening_loop(host, port, flattening, 8))
    return found


def bulk_issue(
    connections: int, host: str, port: int, offers: int, render_processes: int
) -> tuple[float, float]:
    namespace = f"benchn{uuid.uuid4().hex[:8]}"
    settings = KernelSettings(NAMESPACE=namespace)
    platform = LocalPlatform(
        run_dir=Path(tempfile.mkdtemp(prefix="bench-notifier-")),
        namespace=namespace,
        ports={service: free_port() for service in SERVICES},
        extra_env={
            "NAMESPACE": namespace,
            "NOTIFIER_SMTP_HOST": host,
            "NOTIFIER_SMTP_PORT": str(port),
            "NOTIFIER_SMTP_CONNECTIONS": str(connections),
            "NOTIFIER_RENDER_PROCESSES": str(render_processes),
            # 10,000 offers are one write: on a loaded machine Kafka takes them in more than
            # the default 5 s, and the API would refuse the issue (503) time and again.
            "KAFKA_WRITE_TIMEOUT_SECONDS": "60",
        },
    )
    platform.start_all()
    try:
        organiser = platform.bootstrap("Bench Centre", "bench@bench.example.org")
        _, _, accepted, total = asyncio.run(
            end_to_end(platform, settings, organiser["api_key"], offers, f"{namespace}.example.org")
        )
    finally:
        platform.stop_all()
        asyncio.run(drop_schemas(settings))
    return accepted, total


def compare(settings: KernelSettings, host: str, port: int, emails: int) -> None:
    found = asyncio.run(sending(settings, host, port, emails, f"{settings.namespace}.example.org"))
    bare = min(found["bare 8"], found["bare 8, again"])
    floor = min(found["promise's floor 8"], found["promise's floor 8, again"])
    for name in ("notifier 1", "notifier 8", "notifier 8, 8 duplicates"):
        print(
            f"  {name} / bare 8 (the faster bare run): {bare / found[name]:.2f}"
            f"   / the promise's floor 8 (the faster run): {floor / found[name]:.2f}"
        )
    print(f"  the promise's floor 8 / bare 8: {bare / floor:.2f}")
    print(
        "  bare 8 flattening each message itself / bare 8: "
        f"{bare / found['bare 8 flattening each']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--emails", type=int, default=1000, help="for the sending comparison")
    parser.add_argument("--offers", type=int, default=10_000, help="end to end (0: skip)")
    parser.add_argument(
        "--end-to-end-connections", default="8", help="comma-separated, one platform each"
    )
    parser.add_argument(
        "--render-processes",
        default="1",
        help="comma-separated, one platform each (0: messages rendered on the event loop)",
    )
    parser.add_argument("--server", choices=("sink", "mailbox"), default="sink")
    parser.add_argument("--relay-delay-ms", default="0,5", help="comma-separated (sink only)")
    args = parser.parse_args()
    namespace = f"benchn{uuid.uuid4().hex[:8]}"
    settings = KernelSettings(NAMESPACE=namespace)
    servers: list[tuple[str, subprocess.Popen[bytes] | None, str, int]] = []
    if args.server == "sink":
        for delay in [float(d) for d in args.relay_delay_ms.split(",")]:
            sink, port = start_sink(delay)
            where = f"a bare aiosmtpd sink answering {delay:g} ms later (bench/smtp_sink.py)"
            servers.append((where, sink, "127.0.0.1", port))
    else:
        host, port = os.environ.get("SMTP_HOST", "127.0.0.1"), int(os.environ["SMTP_PORT"])
        where = f"the shared mailbox on {host}:{port} (two files written per message)"
        servers.append((where, None, host, port))
    try:
        for where, _, host, port in servers:
            print(f"SMTP server: {where}, {args.emails} offer emails")
            compare(settings, host, port, args.emails)
        _, _, host, port = servers[0]
        runs = [
            (int(c), int(r))
            for c in args.end_to_end_connections.split(",")
            for r in args.render_processes.split(",")
            if args.offers
        ]
        for connections, processes in runs:
            accepted, total = bulk_issue(connections, host, port, args.offers, processes)
            print(
                f"end to end ({servers[0][0]}), {connections} connection(s), {processes} "
                f"rendering process(es): {args.offers} "
                f"offers accepted by the API in {accepted:.1f} s, every email accepted by the "
                f"SMTP server after {total:.1f} s = {args.offers / total:,.0f} emails/s"
            )
    finally:
        asyncio.run(drop_schemas(settings))
        for _, server, _, _ in servers:
            if server is not None:
                server.terminate()
                server.wait()


if __name__ == "__main__":
    main()
