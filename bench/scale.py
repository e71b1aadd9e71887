"""Scaling out: issue throughput and claim latency with 1 and with 3 badge instances, on one
platform, in one run, with the CPU each costs.

    eval "$(bash deploy/local/infra.sh env)"
    uv run python -m bench.scale [--offers 2000] [--claims 400] [--badges 6] [--rounds 1,3]

Each round runs with the number of badge instances `--rounds` names (the first round, one
instance, is the baseline; `1,3,1` measures the baseline again at the end, to see drift). It
publishes `--badges` badges (several organisers' campaigns: claims and offers of one badge are
decided one at a time under its lock, whatever the number of instances), then issues
`--offers` spread over them in requests of 100 addresses, one campaign after the other per
badge and all badges at once, each request at the next instance in turn (throughput: offers
the API accepted per second). Then it claims `--claims` of the offers, `--concurrency` at a
time, across the badges, each at the next instance (latency of the accepting POST: p50, p99).
Claim links are made from the offers' ids with the platform's claim secret, as the notifier
makes them, and the notifier is stopped for the run: the numbers are the badge service's (and
what it needs of Kafka and PostgreSQL), not the mail's (bench.notifier measures that).

Beside each number: the CPU seconds the badge instances used per offer and per claim (their
own /proc counters, so exact), what the platform's other services used, and the machine's
busy CPU and load average over the phase (which include whatever else runs on the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from contracts.tokens import ClaimTokens
from services.kernel.settings import KernelSettings
from services.local_runner import SERVICES, LocalPlatform, free_port

JSON = {"Accept": "application/json"}
BATCH = 100  # addresses per bulk issue request
TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / TICKS, sum(values) / TICKS


@dataclass
class Phase:
    seconds: float
    badge_cpu: float
    others_cpu: float
    machine_busy_cpu: float
    load: float


async def measured(
    platform: LocalPlatform, instances: list[str], run: Callable[[], Awaitable[None]]
) -> Phase:
    """Run one phase; the wall time, the CPU of the badge instances and of the platform's
    other services, the machine's busy CPU, and the 1-minute load average after it."""
    others = [n for n in platform.processes if platform.service_of(n) != "badge"]

    def cpu(names: list[str]) -> float:
        return sum(cpu_seconds(platform.processes[n].pid) for n in names)

    badge0, others0, (busy0, _) = cpu(instances), cpu(others), machine_busy()
    started = time.perf_counter()
    await run()
    seconds = time.perf_counter() - started
    badge1, others1, (busy1, _) = cpu(instances), cpu(others), machine_busy()
    return Phase(seconds, badge1 - badge0, others1 - others0, busy1 - busy0, os.getloadavg()[0])


async def post_retrying(
    http: httpx.AsyncClient, url: str, headers: dict[str, str], body: object = None
) -> httpx.Response:
    """A POST, again after a 503 (a lock or Kafka waited longer than its bound): counted, since
    a loaded machine shows itself there first."""
    for _ in range(20):
        answer = await http.post(url, headers=headers, json=body)
        if answer.status_code != 503:
            answer.raise_for_status()
            return answer
        RETRIES[0] += 1
        await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
    raise RuntimeError(f"{url} answered 503 twenty times")


RETRIES = [0]


async def published_badge(http: httpx.AsyncClient, platform: LocalPlatform, key: str) -> str:
    auth = {"Authorization": f"Bearer {key}"}
    title = f"Scale {uuid.uuid4().hex[:8]}"
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
    platform: LocalPlatform, key: str, instances: list[str], args: argparse.Namespace
) -> dict[str, float]:
    auth = {"Authorization": f"Bearer {key}"}
    domain = f"scale{uuid.uuid4().hex[:6]}.example.org"
    turn = itertools.cycle(instances)
    RETRIES[0] = 0
    async with httpx.AsyncClient(timeout=120) as http:
        made_badges = (published_badge(http, platform, key) for _ in range(args.badges))
        badges = list(await asyncio.gather(*made_badges))
        per_badge = args.offers // (BATCH * len(badges))
        made: dict[str, list[str]] = {badge: [] for badge in badges}

        async def campaign(badge: str) -> None:
            for n in range(per_badge):
                answer = await post_retrying(
                    http,
                    f"{platform.url(next(turn))}/v1/badges/{badge}/offers",
                    {**auth, "Idempotency-Key": f"bench-{n}"},
                    {"emails": [f"l{n}.{i}@{domain}" for i in range(BATCH)]},
                )
                made[badge] += [o["offer_id"] for o in answer.json()["offers"]]

        async def issue() -> None:
            await asyncio.gather(*(campaign(badge) for badge in badges))

        issuing = await measured(platform, instances, issue)
        issue_retries = RETRIES[0]
        offers = sum(len(ids) for ids in made.values())
        # Claims across the badges: the first offer of each, then the second of each, ...
        chosen = [o for row in zip(*made.values(), strict=True) for o in row][: args.claims]
        tokens = ClaimTokens(platform.claim_token_secret)
        gate = asyncio.Semaphore(args.concurrency)
        latencies: list[float] = []

        async def one(offer_id: str) -> None:
            async with gate:
                url = f"{platform.url(next(turn))}/claim/{tokens.personal(uuid.UUID(offer_id))}"
                began = time.perf_counter()
                await post_retrying(http, url, JSON)
                latencies.append(time.perf_counter() - began)

        async def claim() -> None:
            await asyncio.gather(*(one(offer) for offer in chosen))

        RETRIES[0] = 0
        claiming = await measured(platform, instances, claim)
    return {
        "offers": offers,
        "offers_per_s": offers / issuing.seconds,
        "badge_ms_per_offer": issuing.badge_cpu / offers * 1000,
        "others_ms_per_offer": issuing.others_cpu / offers * 1000,
        "busy_ms_per_offer": issuing.machine_busy_cpu / offers * 1000,
        "issue_load": issuing.load,
        "issue_retries": issue_retries,
        "claims": len(chosen),
        "claims_per_s": len(chosen) / claiming.seconds,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "badge_ms_per_claim": claiming.badge_cpu / len(chosen) * 1000,
        "others_ms_per_claim": claiming.others_cpu / len(chosen) * 1000,
        "busy_ms_per_claim": claiming.machine_busy_cpu / len(chosen) * 1000,
        "claim_load": claiming.load,
        "claim_retries": RETRIES[0],
    }


async def drop_schemas(settings: KernelSettings) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        for service in SERVICES:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{settings.schema_name(service)}" CASCADE')
    finally:
        await conn.close()


def scale_badge_to(platform: LocalPlatform, count: int) -> list[str]:
    """Start or stop badge instances until `count` run; wait until each is ready."""
    while len(platform.instances("badge")) < count:
        platform.add_instance("badge")
    while len(platform.instances("badge")) > count:
        platform.stop(platform.instances("badge")[-1])
    instances = platform.instances("badge")
    for name in instances:
        platform.wait_healthy(name, timeout=120)
    return instances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--offers", type=int, default=2_400)
    parser.add_argument("--claims", type=int, default=400)
    parser.add_argument("--badges", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", default="1,3", help="badge instances per round, e.g. 1,3,1")
    args = parser.parse_args()
    rounds = [int(n) for n in args.rounds.split(",")]
    if args.offers < BATCH * args.badges:
        parser.error(f"--offers must be at least {BATCH} per badge")
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
        f"a topic; {args.offers} offers over {args.badges} badges, {args.claims} claims "
        f"{args.concurrency} at a time; load average before {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    platform.start_all()
    rows = []
    try:
        platform.stop("notifier")
        key = platform.bootstrap("Scale Centre", "scale@bench.example.org")["api_key"]
        for count in rounds:
            instances = scale_badge_to(platform, count)
            found = asyncio.run(round_of(platform, key, instances, args))
            rows.append((count, found))
            print(f"round with {count} badge instance(s) done: {found}", flush=True)
    finally:
        platform.stop_all()
        asyncio.run(drop_schemas(settings))
    print()
    print(
        f"{'badge':>5} {'offers/s':>8} {'badge CPU':>9} {'others':>7} {'machine':>8} {'load':>5}"
        f" | {'claims/s':>8} {'p50':>6} {'p99':>6} {'badge CPU':>9} {'others':>7} "
        f"{'machine':>8} {'load':>5} | 503s"
    )
    for count, f in rows:
        print(
            f"{count:>5} {f['offers_per_s']:>8,.0f} {f['badge_ms_per_offer']:>7.2f}ms "
            f"{f['others_ms_per_offer']:>5.2f}ms {f['busy_ms_per_offer']:>6.2f}ms "
            f"{f['issue_load']:>5.1f} | {f['claims_per_s']:>8,.0f} {f['p50_ms']:>4.0f}ms "
            f"{f['p99_ms']:>4.0f}ms {f['badge_ms_per_claim']:>7.1f}ms "
            f"{f['others_ms_per_claim']:>5.1f}ms {f['busy_ms_per_claim']:>6.1f}ms "
            f"{f['claim_load']:>5.1f} | {f['issue_retries']:.0f}+{f['claim_retries']:.0f}"
        )
    print("(CPU columns: CPU time per offer / per claim, of the badge instances, of the other")
    print(" services of the platform, and of the whole machine, whoever used it)")
    (_, one), *rest = rows
    for count, many in rest:
        print(
            f"ratio {count} instance(s) / 1: "
            f"offers/s {many['offers_per_s'] / one['offers_per_s']:.2f}, "
            f"claims/s {many['claims_per_s'] / one['claims_per_s']:.2f}, "
            f"claim p99 {many['p99_ms'] / one['p99_ms']:.2f}"
        )


if __name__ == "__main__":
    main()
