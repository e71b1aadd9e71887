"""Scaling out: issue throughput and claim latency with 1 and with 3 badge instances, on one
platform, in one run.

    eval "$(bash deploy/local/infra.sh env)"
    uv run python -m bench.scale [--offers 2000] [--claims 300] [--instances 3]

Each round publishes a badge, issues it in bulk requests of 100 addresses sent at once and
spread over the running badge instances (throughput: offers the API accepted per second), then
claims `--claims` of the offers, 16 at a time, each at an instance chosen in turn (latency of
the accepting POST: p50, p99). The claim links are made from the offers' ids with the
platform's claim secret, as the notifier makes them, so the mailbox is not on the path (the
notifier still mails every offer, as it would). The baseline is the same round with one
instance, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

from contracts.tokens import ClaimTokens
from services.kernel.settings import KernelSettings
from services.local_runner import SERVICES, LocalPlatform, free_port

JSON = {"Accept": "application/json"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def published_badge(platform: LocalPlatform, key: str, title: str) -> str:
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=60) as http:
        activity = (
            await http.post(
                f"{platform.url('activity')}/v1/activities", headers=auth, json={"title": title}
            )
        ).json()
        await http.post(
            f"{platform.url('activity')}/v1/activities/{activity['id']}/publish", headers=auth
        )
        while True:
            found = (
                await http.get(
                    f"{platform.url('badge')}/v1/badges",
                    params={"source_id": activity["id"]},
                    headers=auth,
                )
            ).json()
            if found:
                return str(found[0]["id"])
            await asyncio.sleep(0.1)


async def round_of(
    platform: LocalPlatform, key: str, instances: list[str], offers: int, claims: int
) -> dict[str, float]:
    badge = await published_badge(platform, key, f"Scale {len(instances)} {uuid.uuid4().hex[:6]}")
    auth = {"Authorization": f"Bearer {key}"}
    domain = f"scale{uuid.uuid4().hex[:6]}.example.org"
    turn = itertools.cycle(instances)
    async with httpx.AsyncClient(timeout=120) as http:

        async def issue(n: int) -> list[str]:
            answer = await http.post(
                f"{platform.url(next(turn))}/v1/badges/{badge}/offers",
                headers={**auth, "Idempotency-Key": f"bench-{n}"},
                json={"emails": [f"l{n}.{i}@{domain}" for i in range(100)]},
            )
            answer.raise_for_status()
            return [o["offer_id"] for o in answer.json()["offers"]]

        started = time.perf_counter()
        made = await asyncio.gather(*(issue(n) for n in range(offers // 100)))
        issue_seconds = time.perf_counter() - started
        offer_ids = [offer for batch in made for offer in batch]
        tokens = ClaimTokens(platform.claim_token_secret)
        gate = asyncio.Semaphore(16)
        latencies: list[float] = []

        async def claim(offer_id: str) -> None:
            async with gate:
                url = f"{platform.url(next(turn))}/claim/{tokens.personal(uuid.UUID(offer_id))}"
                began = time.perf_counter()
                answer = await http.post(url, headers=JSON)
                latencies.append(time.perf_counter() - began)
                assert answer.status_code == 200, answer.text

        started = time.perf_counter()
        await asyncio.gather(*(claim(offer) for offer in offer_ids[:claims]))
        claim_seconds = time.perf_counter() - started
    return {
        "offers_per_s": len(offer_ids) / issue_seconds,
        "claims_per_s": claims / claim_seconds,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


async def drop_schemas(settings: KernelSettings) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        for service in SERVICES:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{settings.schema_name(service)}" CASCADE')
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--offers", type=int, default=2_000)
    parser.add_argument("--claims", type=int, default=300)
    parser.add_argument("--instances", type=int, default=3)
    args = parser.parse_args()
    namespace = f"scale{uuid.uuid4().hex[:8]}"
    settings = KernelSettings(NAMESPACE=namespace)
    platform = LocalPlatform(
        run_dir=Path(tempfile.mkdtemp(prefix="bench-scale-")),
        namespace=namespace,
        ports={service: free_port() for service in SERVICES},
        extra_env={"NAMESPACE": namespace},
    )
    print(
        f"platform {namespace}; {os.cpu_count()} cores; {settings.topic_partitions} partitions "
        "a topic",
        flush=True,
    )
    platform.start_all()
    rows = []
    try:
        key = platform.bootstrap("Scale Centre", "scale@bench.example.org")["api_key"]
        instances = ["badge"]
        rows.append((1, asyncio.run(round_of(platform, key, instances, args.offers, args.claims))))
        for _ in range(args.instances - 1):
            instances.append(platform.add_instance("badge"))
        for name in instances:
            platform.wait_healthy(name, timeout=120)
        rows.append(
            (
                len(instances),
                asyncio.run(round_of(platform, key, instances, args.offers, args.claims)),
            )
        )
    finally:
        platform.stop_all()
        asyncio.run(drop_schemas(settings))
    print(f"{'badge instances':>15} {'offers/s':>9} {'claims/s':>9} {'claim p50':>10} {'p99':>8}")
    for count, found in rows:
        print(
            f"{count:>15} {found['offers_per_s']:>9,.0f} {found['claims_per_s']:>9,.0f} "
            f"{found['p50_ms']:>8.0f}ms {found['p99_ms']:>6.0f}ms"
        )
    (_, one), (many_count, many) = rows
    print(
        f"ratio {many_count} instances / 1: "
        f"offers {many['offers_per_s'] / one['offers_per_s']:.2f}, "
        f"claims {many['claims_per_s'] / one['claims_per_s']:.2f}, "
        f"p99 {many['p99_ms'] / one['p99_ms']:.2f}"
    )


if __name__ == "__main__":
    main()
