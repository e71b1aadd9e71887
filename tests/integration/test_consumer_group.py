"""Two instances of the badge service in one consumer group, in one process: each applies its
share of the partitions, each input is decided once (one BadgeClass, one event in the log),
and when one instance leaves, the other takes its partitions from the offsets stored in
PostgreSQL and goes on without deciding anything twice."""

from __future__ import annotations

import asyncio
import collections
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import decode, encode
from services.badge.app import build_runtime
from services.badge.settings import BadgeSettings
from services.kernel.runtime import ServiceRuntime
from services.kernel.settings import KernelSettings
from tests.support import published_activity, wait_for


async def _publish(settings: KernelSettings, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        organisation = uuid.uuid4()
        for n in range(count):
            event = published_activity(f"Grouped {n}", organisation_id=organisation)
            activity_id = event.stream_id
            await producer.send(
                settings.topic("activity.events"),
                encode(event),
                key=str(activity_id).encode(),
                headers=[
                    ("event_id", str(event.event_id).encode()),
                    ("event_type", b"ActivityPublished"),
                ],
            )
        await producer.flush()
    finally:
        await producer.stop()


async def _badges(runtime: ServiceRuntime) -> int:
    async with runtime.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM badge_classes"))


async def _created_in_log(settings: KernelSettings) -> list[uuid.UUID]:
    """The ids of every BadgeClassCreated in the badge service's topic, duplicates kept."""
    topic = settings.topic("badge.events")
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, 0)
        found = []
        while any([await consumer.position(tp) < ends[tp] for tp in partitions]):
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                found += [decode(r.value) for r in records]
        return [e.event_id for e in found if e.event_type == "BadgeClassCreated"]
    finally:
        await consumer.stop()


def _owned(runtime: ServiceRuntime) -> set[tuple[str, int]]:
    main = runtime.consumer._main
    return {(tp.topic, tp.partition) for tp in (main.assignment() if main else ())}


async def test_two_instances_share_partitions_and_decide_each_input_once(infra, tmp_path: Path):
    settings = infra.kernel_settings(4)
    first = build_runtime(settings, BadgeSettings(blob_dir=tmp_path))
    second = build_runtime(settings, BadgeSettings(blob_dir=tmp_path))
    try:
        for runtime in (first, second):
            await runtime.open()
            await runtime.start_consuming()

        async def both_own_partitions() -> bool:
            owned = [
                {
                    (tp.topic, tp.partition)
                    for tp in (r.consumer._main.assignment() if r.consumer._main else ())
                }
                for r in (first, second)
            ]
            return all(owned) and not owned[0] & owned[1]

        await wait_for(both_own_partitions, timeout=60)
        await _publish(settings, 60)

        async def made(count: int) -> bool:
            return await _badges(first) >= count

        await wait_for(lambda: made(60), timeout=120)
        applied = (first.consumer.applied, second.consumer.applied)
        assert all(applied), f"each instance applies its share: {applied}"
        async with first.pool.acquire() as conn:
            owners = await conn.fetch("SELECT DISTINCT owner FROM consumer_offsets")
        assert {row["owner"] for row in owners} == {
            first.consumer.instance,
            second.consumer.instance,
        }

        # One leaves: the other takes every partition and goes on from the stored offsets.
        await second.close()
        await _publish(settings, 30)
        await wait_for(lambda: made(90), timeout=120)
        await asyncio.sleep(1.0)  # anything decided twice would be in the log by now
        assert await _badges(first) == 90
        assert len(_owned(first)) == 4 * 4  # every partition of the four topics it reads
        created = await _created_in_log(settings)
        assert len(created) == len(set(created)) == 90, collections.Counter(created).most_common(3)
    finally:
        await first.close()
        await second.close()
