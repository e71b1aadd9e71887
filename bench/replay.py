"""Replay at the speed of the machine: in one run, on the same topics, the raw aiokafka read
rate, each service's rebuild rate, and the ratio between them.

    eval "$(bash deploy/local/infra.sh env)"
    uv run python -m bench.replay [--activities 60000] [--organisations 20] [--keep]
    uv run python -m bench.replay --namespace replayXXXX --no-seed --keep  # measure it again

It writes its own topics (a namespace of its own): organisations, organisers with keys, and
activities drafted and published, straight into `activity.events`; then the badge service
runs once as it would live (it decides a BadgeClass per published activity and appends it to
`badge.events`). Then, for each service: a raw read of exactly the topics that service
replays (plain aiokafka, nothing done with the records), its `rebuild` (drop the schema,
replay), the rate of both (rebuild/s: the whole command; replay/s: the replay without
emptying the schema and connecting), the ratio of the replay to the raw read, the share of one
core the rebuild's own Python used meanwhile (py cpu: near 100%, it is what bounds the rate),
and whether the checksum after the rebuild equals the one before.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

import contracts
from contracts import Envelope, new_envelope
from contracts.activity import (
    ActivityDrafted,
    ActivityPublished,
    OrganisationCreated,
    OrganiserAdded,
    OrganiserKeyIssued,
)
from services.kernel.publisher import EventPublisher
from services.kernel.runtime import ServiceRuntime
from services.kernel.settings import KernelSettings
from services.kernel.topics import ensure_topics

SERVICES = ("activity", "badge", "evidence", "notifier")
BENCH_ISSUER_KEY_SECRET = "bench-replay-issuer-key-secret-0123456789"


def runtime_of(service: str, settings: KernelSettings, blob_dir: Path) -> ServiceRuntime:
    """Each service's runtime as its composition root builds it for `rebuild`."""
    if service == "activity":
        from services.activity.app import build_runtime

        return build_runtime(settings)
    if service == "badge":
        from services.badge.app import build_runtime as build_badge
        from services.badge.settings import BadgeSettings

        # Fixed, so that measuring a namespace again derives the same issuer keys.
        return build_badge(
            settings, BadgeSettings(blob_dir=blob_dir, issuer_key_secrets=BENCH_ISSUER_KEY_SECRET)
        )
    if service == "evidence":
        from services.evidence.bootstrap import build_runtime as build_evidence
        from services.evidence.settings import EvidenceSettings

        return build_evidence(
            settings, EvidenceSettings(session_secret="x" * 40, blob_dir=blob_dir / "evidence")
        )
    from services.notifier.bootstrap import Settings, bootstrap
    from services.notifier.settings import NotifierSettings

    # No CLAIM_TOKEN_SECRET: a replay that would mail stops instead (nothing is due here).
    return bootstrap(Settings(kernel=settings, notifier=NotifierSettings(), tokens=None))


def activity_log(organisations: int, activities: int) -> list[Envelope[Any]]:
    events: list[Envelope[Any]] = []
    org_ids = [uuid.uuid4() for _ in range(organisations)]
    for n, org in enumerate(org_ids):
        events.append(
            new_envelope(
                OrganisationCreated(
                    organisation_id=org,
                    name=f"Bench centre {n}",
                    url="https://bench.example.org",
                    email="bench@example.org",
                ),
                stream_id=org,
                stream_version=1,
                actor="bench",
            )
        )
        organiser = uuid.uuid4()
        events.append(
            new_envelope(
                OrganiserAdded(
                    organiser_id=organiser,
                    organisation_id=org,
                    name="Ana",
                    email=f"ana{n}@example.org",
                ),
                stream_id=org,
                stream_version=2,
                actor="bench",
            )
        )
        events.append(
            new_envelope(
                OrganiserKeyIssued(
                    organiser_id=organiser,
                    organisation_id=org,
                    key_id=uuid.uuid4().hex[:12],
                    secret_sha256="0" * 64,
                ),
                stream_id=org,
                stream_version=3,
                actor="bench",
            )
        )
    for n in range(activities):
        activity_id, org = uuid.uuid4(), org_ids[n % organisations]
        content = {
            "activity_id": activity_id,
            "organisation_id": org,
            "title": f"Activity {n}",
            "description": "Grow food in the city. " * 4,
            "criteria": "Plant three seeds",
            "starts_at": None,
            "ends_at": None,
            "place": None,
        }
        for version, model in enumerate((ActivityDrafted, ActivityPublished), start=1):
            events.append(
                new_envelope(
                    model(**content), stream_id=activity_id, stream_version=version, actor="bench"
                )
            )
    return events


async def write_log(settings: KernelSettings, events: list[Envelope[Any]]) -> None:
    publisher = EventPublisher(
        settings.kafka_bootstrap_servers,
        {name: settings.topic(name) for name in contracts.TOPICS},
        write_timeout=30,
    )
    await publisher.start()
    try:
        for start in range(0, len(events), 5_000):
            await publisher.append(events[start : start + 5_000])
    finally:
        await publisher.stop()


async def raw_read(settings: KernelSettings, topics: list[str]) -> tuple[int, float]:
    """Read the topics from the start with plain aiokafka, doing nothing with the records."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(await producer.partitions_for(topic))
        ]
    finally:
        await producer.stop()
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        started = time.perf_counter()
        # seek() to the first offsets: seek_to_beginning() is lazy, and position() can answer
        # the end before the reset is done.
        for tp, first in (await consumer.beginning_offsets(partitions)).items():
            consumer.seek(tp, first)
        count = 0
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5_000)).values():
                count += len(records)
        return count, time.perf_counter() - started
    finally:
        await consumer.stop()


def machine_busy_seconds() -> float:
    """Core-seconds the whole machine (every process: this one, PostgreSQL, Kafka) has spent
    busy since boot, from /proc/stat; 0 where there is none."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    # user nice system idle iowait irq softirq steal ...: all but idle and iowait are work.
    ticks = [int(f) for f in fields[:8]]
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


async def timed(step: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await step()
    return result, time.perf_counter() - started


async def measure(
    service: str, settings: KernelSettings, blob_dir: Path, profile: Path | None = None
) -> dict[str, Any]:
    runtime = runtime_of(service, settings, blob_dir)
    await runtime.open()
    before = await runtime.checksum()
    await runtime.close()
    own = runtime.spec.own_topic
    topics = [settings.topic(t) for t in (own, *runtime.spec.input_topics)]
    raw_count, raw_seconds = await raw_read(settings, topics)
    runtime = runtime_of(service, settings, blob_dir)
    profiler = cProfile.Profile() if profile is not None else None
    if profiler is not None:
        profiler.enable()
    cpu_began, busy_began = time.process_time(), machine_busy_seconds()
    report, seconds = await timed(runtime.rebuild)
    cpu, busy = time.process_time() - cpu_began, machine_busy_seconds() - busy_began
    if profiler is not None and profile is not None:
        profiler.disable()
        profile.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(profile / f"{service}.pstats")
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)
    after = await runtime.checksum()
    await runtime.close()
    count = report["own_records"] + report["input_records"]
    # Older code's report has no replay_seconds: its whole rebuild is the replay then.
    replay_seconds = report.get("replay_seconds", seconds)
    return {
        "replay_rate": count / replay_seconds,
        "service": service,
        "raw_records": raw_count,
        "raw_rate": raw_count / raw_seconds,
        "records": count,
        "seconds": seconds,
        "rate": count / seconds,
        # The share of one core this process (the rebuild's Python) used while it ran.
        "cpu_share": cpu / seconds,
        # The cores the whole machine kept busy meanwhile, and the rate the rebuild would have
        # if every core did nothing but this at the same cost a record: the most that more
        # processes could give on this machine.
        "machine_cores": busy / seconds,
        "ceiling": count / busy * len(os.sched_getaffinity(0)) if busy else 0.0,
        "same": before == after,
        "checksum": after[:16],
    }


async def drop_schemas(settings: KernelSettings) -> None:
    conn = await asyncpg.connect(settings.database_url)
    try:
        for service in SERVICES:
            for suffix in ("", "_verify"):
                schema = settings.schema_name(service) + suffix
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> None:
    namespace = args.namespace or f"replay{uuid.uuid4().hex[:8]}"
    settings = KernelSettings(NAMESPACE=namespace)
    blob_dir = Path(f"/tmp/{namespace}-blobs")
    print(
        f"namespace {namespace}; Kafka {settings.kafka_bootstrap_servers}; "
        f"{os.cpu_count()} cores; {settings.topic_partitions} partitions a topic",
        flush=True,
    )
    try:
        if not args.namespace:
            await ensure_topics(settings)
            events = activity_log(args.organisations, args.activities)
            _, seconds = await timed(lambda: write_log(settings, events))
            print(f"wrote {len(events):,} activity events in {seconds:.1f} s", flush=True)
        if args.seed:
            # The badge service as it runs live: decides a BadgeClass per published activity
            # (again with --namespace: what a stopped run left undecided).
            badge = runtime_of("badge", settings, blob_dir)
            await badge.open()
            await badge.consumer.catch_up([badge.consumer.config.own_topic])
            decided, seconds = await timed(
                lambda: badge.consumer.catch_up(list(badge.consumer.config.input_topics))
            )
            await badge.close()
            print(
                f"badge service live: decided on {decided:,} input records in {seconds:.1f} s "
                f"({decided / seconds:,.0f}/s, a PNG rendered per badge)",
                flush=True,
            )
            for service in ("activity", "evidence", "notifier"):
                if service not in args.services.split(","):
                    continue
                first = runtime_of(service, settings, blob_dir)
                await first.rebuild()
                await first.close()
        print(
            f"{'service':10} {'raw records':>12} {'raw/s':>10} {'replayed':>10} "
            f"{'rebuild/s':>10} {'replay/s':>10} {'ratio':>6} {'py cpu':>6} {'cores':>5} "
            f"{'ceiling/s':>10}  checksum",
            flush=True,
        )
        for service in args.services.split(","):
            found = await measure(service, settings, blob_dir, args.profile)
            print(
                f"{service:10} {found['raw_records']:>12,} {found['raw_rate']:>10,.0f} "
                f"{found['records']:>10,} {found['rate']:>10,.0f} {found['replay_rate']:>10,.0f} "
                f"{found['replay_rate'] / found['raw_rate']:>6.2f} {found['cpu_share']:>6.0%} "
                f"{found['machine_cores']:>5.2f} {found['ceiling']:>10,.0f}  "
                f"{found['checksum']} "
                f"{'equal' if found['same'] else 'DIFFERENT'} to before the rebuild",
                flush=True,
            )
    finally:
        if not args.keep:
            await drop_schemas(settings)
        else:
            print(f"kept: NAMESPACE={namespace}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    # 60,000 activities: 120,060 activity records and 60,000 badges, so that each read lasts
    # long enough to be a steady rate rather than the consumer's start.
    parser.add_argument("--activities", type=int, default=60_000)
    parser.add_argument("--organisations", type=int, default=20)
    parser.add_argument("--services", default=",".join(SERVICES))
    parser.add_argument("--keep", action="store_true", help="keep the schemas (and print them)")
    parser.add_argument("--namespace", default="", help="measure an existing namespace again")
    parser.add_argument(
        "--no-seed",
        dest="seed",
        action="store_false",
        help="with --namespace: measure the schemas as they are (no live pass, no first builds)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="profile each rebuild (cProfile): DIR/<service>.pstats, the top on stderr",
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
