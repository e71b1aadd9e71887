"""Benchmark of the first flow: publish-to-BadgeClass latency, badge creation throughput, and
the badge service's replay rate next to a raw aiokafka read of the same topics.

    bash deploy/local/infra.sh start && eval "$(bash deploy/local/infra.sh env)"
    uv run python -m bench.badge_pipeline [--activities 1000] [--bulk 20000]

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
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import encode, new_envelope
from contracts.activity import ActivityPublished
from services.badge.app import build_runtime as build_badge_runtime
from services.badge.settings import BadgeSettings
from services.kernel.settings import KernelSettings
from services.local_runner import SERVICES, LocalPlatform, free_port


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def latency(
    platform: LocalPlatform, key: str, settings: KernelSettings, count: int
) -> list[float]:
    """One at a time: draft (untimed), publish, poll the read model until the badge is there."""
    auth = {"Authorization": f"Bearer {key}"}
    conn = await asyncpg.connect(
        settings.database_url, server_settings={"search_path": settings.schema_name("badge")}
    )
    samples = []
    try:
        async with httpx.AsyncClient(base_url=platform.url("activity"), timeout=30) as client:
            for n in range(count):
                activity = (
                    await client.post("/v1/activities", headers=auth, json={"title": f"Bench {n}"})
                ).json()
                activity_id = uuid.UUID(activity["id"])
                started = time.perf_counter()
                answer = await client.post(f"/v1/activities/{activity_id}/publish", headers=auth)
                answer.raise_for_status()
                while not await conn.fetchval(
                    "SELECT true FROM badge_classes WHERE source_id = $1", activity_id
                ):
                    await asyncio.sleep(0.0005)
                samples.append((time.perf_counter() - started) * 1000)
    finally:
        await conn.close()
    return samples


async def bulk(settings: KernelSettings, organisation_id: uuid.UUID, count: int) -> float:
    """Append `count` ActivityPublished at once; seconds until every badge exists."""
    events = []
    for n in range(count):
        activity_id = uuid.uuid4()
        event = ActivityPublished(
            activity_id=activity_id,
            organisation_id=organisation_id,
            title=f"Bulk {n}",
            description="",
            criteria="",
            starts_at=None,
            ends_at=None,
            place=None,
        )
        events.append(new_envelope(event, stream_id=activity_id, stream_version=1, actor="bench"))
    conn = await asyncpg.connect(
        settings.database_url, server_settings={"search_path": settings.schema_name("badge")}
    )
    before = await conn.fetchval("SELECT count(*) FROM badge_classes")
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", linger_ms=5
    )
    await producer.start()
    started = time.perf_counter()
    try:
        futures = [
            await producer.send(
                settings.topic("activity.events"), encode(e), key=str(e.stream_id).encode()
            )
            for e in events
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    while await conn.fetchval("SELECT count(*) FROM badge_classes") < before + count:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - started
    await conn.close()
    return elapsed


async def raw_consume(settings: KernelSettings, topics: list[str]) -> tuple[int, float]:
    """Read the topics from the start with plain aiokafka, doing nothing with the records."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    partitions = [
        TopicPartition(topic, p) for topic in topics for p in await producer.partitions_for(topic)
    ]
    await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    started = time.perf_counter()
    count = 0
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for records in (await consumer.getmany(timeout_ms=500, max_records=500)).values():
                count += len(records)
    finally:
        elapsed = time.perf_counter() - started
        await consumer.stop()
    return count, elapsed


async def replay(settings: KernelSettings, blob_dir: Path) -> tuple[int, float, str, str]:
    runtime = build_badge_runtime(settings, BadgeSettings(blob_dir=blob_dir))
    await runtime.open()
    before = await runtime.checksum()
    started = time.perf_counter()
    report = await runtime.rebuild()
    elapsed = time.perf_counter() - started
    after = await runtime.checksum()
    await runtime.close()
    return report["own_records"] + report["input_records"], elapsed, before, after


async def drop_schemas(settings: KernelSettings) -> None:
    conn = await asyncpg.connect(settings.database_url)
    for service in SERVICES:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{settings.schema_name(service)}" CASCADE')
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--activities", type=int, default=1_000)
    parser.add_argument("--bulk", type=int, default=20_000)
    args = parser.parse_args()
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    settings = KernelSettings(NAMESPACE=namespace)
    run_dir = Path(tempfile.mkdtemp(prefix="bench-"))
    platform = LocalPlatform(
        run_dir=run_dir,
        namespace=namespace,
        ports={service: free_port() for service in SERVICES},
        extra_env={"NAMESPACE": namespace},
    )
    print(f"platform {namespace}; Kafka {settings.kafka_bootstrap_servers}; cores {os.cpu_count()}")
    platform.start_all()
    try:
        organiser = platform.bootstrap("Bench Centre", "bench@bench.example.org")
        samples = asyncio.run(latency(platform, organiser["api_key"], settings, args.activities))
        print(
            f"publish-to-BadgeClass latency over {len(samples)} activities (HTTP publish until the "
            f"badge row is readable): p50 {percentile(samples, 0.50):.1f} ms, "
            f"p95 {percentile(samples, 0.95):.1f} ms, p99 {percentile(samples, 0.99):.1f} ms, "
            f"max {max(samples):.1f} ms, mean {statistics.mean(samples):.1f} ms"
        )
        seconds = asyncio.run(bulk(settings, uuid.UUID(organiser["organisation_id"]), args.bulk))
        print(
            f"bulk: {args.bulk} ActivityPublished appended at once -> every BadgeClass made in "
            f"{seconds:.1f} s ({args.bulk / seconds:,.0f} badges/s)"
        )
    finally:
        platform.stop_all()
    topics = [settings.topic("badge.events"), settings.topic("activity.events")]
    raw_count, raw_seconds = asyncio.run(raw_consume(settings, topics))
    count, seconds, before, after = asyncio.run(replay(settings, run_dir / "blobs"))
    raw_rate, rate = raw_count / raw_seconds, count / seconds
    print(
        f"raw aiokafka consume of {', '.join(topics)}: {raw_count} records "
        f"in {raw_seconds:.2f} s = {raw_rate:,.0f} records/s"
    )
    print(
        f"badge service rebuild (drop schema, replay both topics): {count} events "
        f"in {seconds:.2f} s = {rate:,.0f} events/s"
    )
    print(f"replay / raw consume ratio: {rate / raw_rate:.2f}")
    verdict = "equal" if before == after else "DIFFERENT"
    print(f"checksum before rebuild {before[:16]}, after {after[:16]}: {verdict}")
    asyncio.run(drop_schemas(settings))


if __name__ == "__main__":
    main()
