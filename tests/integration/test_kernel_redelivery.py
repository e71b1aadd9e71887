"""The same records delivered twice (a rebalance, a prefetch, a restart) apply once, and an
undecodable one is dead-lettered once."""

from __future__ import annotations

from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import encode
from services.badge.app import build_runtime
from services.badge.settings import BadgeSettings
from tests.support import published_activity


async def test_records_delivered_twice_apply_once(infra, tmp_path: Path):
    settings = infra.kernel_settings(1)
    runtime = build_runtime(settings, BadgeSettings(blob_dir=tmp_path))
    await runtime.open()
    try:
        event = published_activity("Twice")
        activity_id = event.stream_id
        topic = settings.topic("activity.events")
        producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
        await producer.start()
        await producer.send_and_wait(topic, b"garbage", key=b"k", partition=0)
        await producer.send_and_wait(topic, encode(event), key=b"k", partition=0)
        await producer.stop()

        consumer = AIOKafkaConsumer(bootstrap_servers=infra.kafka_bootstrap_servers)
        await consumer.start()
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.seek_to_beginning(TopicPartition(topic, 0))
        records = (await consumer.getmany(timeout_ms=5000))[TopicPartition(topic, 0)]
        await consumer.stop()
        assert len(records) == 2

        await runtime.consumer.process(records)
        await runtime.consumer.process(records)  # delivered again
        await runtime.consumer.process(records[1:])  # and a tail of it once more

        async with runtime.pool.acquire() as conn:
            badges = await conn.fetchval(
                "SELECT count(*) FROM badge_classes WHERE source_id = $1", activity_id
            )
            offset = await conn.fetchval(
                "SELECT next_offset FROM consumer_offsets WHERE topic = $1", topic
            )
        assert badges == 1
        assert offset == 2
        assert runtime.consumer.dead_lettered == 1
        assert runtime.consumer.applied == 1
    finally:
        await runtime.close()
