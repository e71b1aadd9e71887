"""Issue 14 items 1 and 2: with Kafka killed, public documents and queries answer within a
second, writes answer 503 with Retry-After within the bound and keep nothing, readiness says
503 while liveness says alive; with Kafka back, the same requests (same Idempotency-Key)
create each offer once."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx

from tests.chaos.conftest import WRITE_MARGIN, WRITE_TIMEOUT
from tests.chaos.own_infrastructure import OwnInfrastructure
from tests.support import Platform, bearer, wait_for
from tests.support_flows import published_badge
from tests.support_mail import messages_to

WRITERS = 15


async def _ready(http: httpx.AsyncClient, platform: Platform, service: str) -> bool:
    try:
        return (await http.get(f"{platform.url(service)}/health/ready")).status_code == 200
    except httpx.HTTPError:
        return False


async def test_kafka_outage(chaos_platform: Platform, own_infra: OwnInfrastructure) -> None:
    platform = chaos_platform
    organiser = platform.bootstrap("Outage Youth Centre", f"ana.{uuid.uuid4().hex[:6]}@outage.org")
    run = uuid.uuid4().hex[:8]
    badge_url = platform.url("badge")
    async with httpx.AsyncClient(timeout=30) as http:
        badge = await published_badge(http, platform, organiser, "Radio in an outage")
        offers_url = f"{badge_url}/v1/badges/{badge['id']}/offers"
        emails = [f"writer{n}.{run}@outage.example.org" for n in range(WRITERS)]

        async def offer(n: int) -> tuple[int, float, dict[str, Any], httpx.Headers]:
            started = time.monotonic()
            answer = await http.post(
                offers_url,
                json={"email": emails[n]},
                headers={**bearer(organiser), "Idempotency-Key": f"outage-{run}-{n}"},
            )
            return answer.status_code, time.monotonic() - started, answer.json(), answer.headers

        ready = await http.get(f"{badge_url}/health/ready")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["checks"]["kafka"]["ok"] and body["checks"]["postgresql"]["ok"]
        assert body["partitions"] and all("lag" in p for p in body["partitions"])
        applied_before = body["applied"]

        own_infra.kill("kafka")
        reads: list[tuple[str, int, float]] = []
        stop_reading = asyncio.Event()

        async def read_all_along() -> None:
            public = f"{badge_url}/ob/badge-classes/{badge['id']}"
            while not stop_reading.is_set():
                for url, headers in ((public, {}), (f"{badge_url}/v1/badges", bearer(organiser))):
                    started = time.monotonic()
                    try:
                        status = (await http.get(url, headers=headers, timeout=5)).status_code
                    except httpx.HTTPError:
                        status = 0
                    reads.append((url, status, time.monotonic() - started))
                await asyncio.sleep(0.1)

        reader = asyncio.create_task(read_all_along())
        written = await asyncio.gather(*(offer(n) for n in range(WRITERS)))
        # Reads go on while Kafka stays down, past the writes' bound.
        await asyncio.sleep(2)
        not_ready = await http.get(f"{badge_url}/health/ready")
        old_health = await http.get(f"{badge_url}/health")
        alive = await http.get(f"{badge_url}/health/live")
        stop_reading.set()
        await reader

        statuses = sorted({status for status, *_ in written})
        assert statuses == [503], [(s, b) for s, _, b, _ in written]
        slowest_write = max(elapsed for _, elapsed, _, _ in written)
        assert slowest_write <= WRITE_TIMEOUT + WRITE_MARGIN, slowest_write
        assert all(headers.get("retry-after", "").isdigit() for *_, headers in written)
        assert reads and all(status == 200 for _, status, _ in reads), reads
        slowest_read = max(elapsed for *_, elapsed in reads)
        assert slowest_read < 1.0, slowest_read
        assert not_ready.status_code == 503 and not not_ready.json()["checks"]["kafka"]["ok"]
        assert old_health.status_code == 503
        assert alive.status_code == 200
        # Nothing half-done: no offer was kept.
        kept = await http.get(offers_url, headers=bearer(organiser))
        assert kept.status_code == 200 and kept.json() == [], kept.text

        own_infra.start()
        back = time.monotonic()
        await wait_for(lambda: _ready(http, platform, "badge"), timeout=120, interval=0.5)
        recovery = time.monotonic() - back

        async def offer_until_taken(n: int) -> tuple[int, int]:
            """As a client does: a 503 is tried again after a pause (its Retry-After, here
            shortened), with the same Idempotency-Key."""
            refusals = 0
            while True:
                status, _, body, _ = await offer(n)
                if status != 503:
                    return status, refusals
                refusals += 1
                assert refusals < 30, body
                await asyncio.sleep(0.5)

        retried = await asyncio.gather(*(offer_until_taken(n) for n in range(WRITERS)))
        assert all(status in (200, 201) for status, _ in retried), retried
        refused_after = sum(refusals for _, refusals in retried)
        again = await asyncio.gather(*(offer(n) for n in range(WRITERS)))
        assert all(status == 200 and body["created"] == 0 for status, _, body, _ in again)
        rows = (await http.get(offers_url, headers=bearer(organiser))).json()
        assert sorted(o["recipient_email"] for o in rows) == sorted(emails)

        # Each offer is mailed once.
        assert platform.infra.mailbox_dir is not None
        mailbox = platform.infra.mailbox_dir

        async def all_mailed() -> bool:
            return all(len(messages_to(mailbox, e)) >= 1 for e in emails)

        await wait_for(all_mailed, timeout=120, interval=0.5)
        await asyncio.sleep(2)
        assert all(len(messages_to(mailbox, e)) == 1 for e in emails)

        after = (await http.get(f"{badge_url}/health/ready")).json()
        # Progress is read from PostgreSQL: it counts what was applied before this process too.
        assert after["applied"] >= applied_before
    print(
        f"\nKafka outage: {WRITERS} writes answered 503 in at most {slowest_write:.2f}s "
        f"(bound {WRITE_TIMEOUT:g}s); {len(reads)} reads, slowest {slowest_read * 1000:.0f} ms; "
        f"ready again {recovery:.1f}s after Kafka restarted; the same {WRITERS} requests then "
        f"(after {refused_after} more 503s while Kafka warmed up) created and mailed each "
        "offer once"
    )
