"""Benchmark of issuing: end-to-end throughput of a 10,000-offer bulk issue (offers accepted by
the API until the SMTP server has accepted every email) next to a plain aiosmtplib send loop to
the same server in the same run, and the latency of claiming.

    bash deploy/local/infra.sh start && eval "$(bash deploy/local/infra.sh env)"
    uv run python -m bench.issue_pipeline [--offers 10000] [--claims 300]

Starts its own copy of the platform (own topics and schemas), prints numbers, and cleans up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import asyncpg
import httpx

from bench.badge_pipeline import drop_schemas, percentile
from contracts.badge import BadgeOffered
from contracts.tokens import ClaimTokens
from services.kernel.settings import KernelSettings
from services.local_runner import SERVICES, LocalPlatform, free_port
from services.notifier.emails import Sender, offer_email


def bench_offer_email(recipient: str) -> EmailMessage:
    """A real offer email, with its QR code, for a badge and claim link made up for the bench."""
    offer = BadgeOffered(
        offer_id=uuid.uuid4(),
        badge_class_id=uuid.uuid4(),
        issuer_id=uuid.uuid4(),
        recipient_email=recipient,
        via="email",
        expires_at=datetime.now(UTC) + timedelta(days=90),
        badge_name="Bench badge",
        badge_description="A badge for the benchmark.",
        issuer_name="Bench Centre",
    )
    link = f"http://127.0.0.1/claim/p{uuid.uuid4().hex}{uuid.uuid4().hex[:11]}"
    return offer_email(Sender("bench@localhost"), offer, link)


async def plain_smtp_loop(count: int, domain: str) -> float:
    """The same kind of message, composed and sent one after another over one connection."""
    host, port = os.environ.get("SMTP_HOST", "127.0.0.1"), int(os.environ.get("SMTP_PORT", "2525"))
    client = aiosmtplib.SMTP(hostname=host, port=port)
    await client.connect()
    started = time.perf_counter()
    for n in range(count):
        await client.send_message(bench_offer_email(f"plain{n}@{domain}"))
    elapsed = time.perf_counter() - started
    await client.quit()
    return elapsed


async def end_to_end(
    platform: LocalPlatform, settings: KernelSettings, key: str, count: int, domain: str
) -> tuple[str, list[str], float, float]:
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=300) as client:
        activity = (
            await client.post(
                f"{platform.url('activity')}/v1/activities", headers=auth, json={"title": "Bench"}
            )
        ).json()
        await client.post(
            f"{platform.url('activity')}/v1/activities/{activity['id']}/publish", headers=auth
        )
        badge: list[dict[str, str]] = []
        while not badge:
            answer = await client.get(
                f"{platform.url('badge')}/v1/badges",
                params={"source_id": activity["id"]},
                headers=auth,
            )
            badge = answer.json() if answer.status_code == 200 else []
            await asyncio.sleep(0.05)
        started = time.perf_counter()
        for _ in range(30):
            # A write that Kafka or a lock kept waiting past its bound is refused whole (503);
            # the same key makes the next try the same issue.
            answer = await client.post(
                f"{platform.url('badge')}/v1/badges/{badge[0]['id']}/offers",
                headers={**auth, "Idempotency-Key": f"bench-{domain}"},
                json={"emails": [f"learner{n}@{domain}" for n in range(count)]},
            )
            if answer.status_code != 503:
                break
            print(f"  the bulk issue was refused for now ({answer.text[:200]}); again")
            await asyncio.sleep(1)
        if answer.status_code != 201:
            refusal = f"{answer.status_code} {answer.text[:500]}"
            raise SystemExit(f"the bulk issue was refused: {refusal}")
        accepted = time.perf_counter() - started
        offer_ids = [o["offer_id"] for o in answer.json()["offers"]]
    conn = await asyncpg.connect(
        settings.database_url, server_settings={"search_path": settings.schema_name("notifier")}
    )
    try:
        while (
            await conn.fetchval(
                "SELECT count(*) FROM emails WHERE kind = 'offer' AND status = 'sent'"
            )
            < count
        ):
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return badge[0]["id"], offer_ids, accepted, time.perf_counter() - started


async def claim_latency(platform: LocalPlatform, offer_ids: list[str], count: int) -> list[float]:
    tokens = ClaimTokens(platform.claim_token_secret)
    samples = []
    async with httpx.AsyncClient(timeout=30) as client:
        for offer_id in offer_ids[:count]:
            link = f"{platform.url('badge')}/claim/{tokens.personal(uuid.UUID(offer_id))}"
            started = time.perf_counter()
            answer = await client.post(link, headers={"Accept": "application/json"})
            samples.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--claims", type=int, default=300)
    args = parser.parse_args()
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    settings = KernelSettings(NAMESPACE=namespace)
    platform = LocalPlatform(
        run_dir=Path(tempfile.mkdtemp(prefix="bench-")),
        namespace=namespace,
        ports={service: free_port() for service in SERVICES},
        extra_env={"NAMESPACE": namespace},
    )
    domain = f"{namespace}.example.org"
    print(f"platform {namespace}; SMTP {os.environ.get('SMTP_HOST')}:{os.environ.get('SMTP_PORT')}")
    platform.start_all()
    try:
        organiser = platform.bootstrap("Bench Centre", "bench@bench.example.org")
        plain = asyncio.run(plain_smtp_loop(args.offers, domain))
        _, offer_ids, accepted, total = asyncio.run(
            end_to_end(platform, settings, organiser["api_key"], args.offers, domain)
        )
        samples = asyncio.run(claim_latency(platform, offer_ids, args.claims))
    finally:
        platform.stop_all()
        asyncio.run(drop_schemas(settings))
    plain_rate, rate = args.offers / plain, args.offers / total
    print(
        f"plain aiosmtplib loop: {args.offers} messages in {plain:.1f} s "
        f"= {plain_rate:,.0f} emails/s"
    )
    print(
        f"end to end: {args.offers} offers accepted by the API in {accepted:.1f} s, every email "
        f"accepted by the SMTP server after {total:.1f} s = {rate:,.0f} emails/s"
    )
    print(f"end-to-end / plain SMTP loop ratio: {rate / plain_rate:.2f}")
    print(
        f"claim latency over {len(samples)} personal links (POST until the award is decided): "
        f"p50 {percentile(samples, 0.5):.1f} ms, p99 {percentile(samples, 0.99):.1f} ms, "
        f"mean {statistics.mean(samples):.1f} ms"
    )


if __name__ == "__main__":
    main()
