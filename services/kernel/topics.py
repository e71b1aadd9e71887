"""Creates the event topics with the retention an event log needs (keep everything)."""

from __future__ import annotations

import asyncio
import contextlib

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from contracts.services import CATALOGUE, SERVICES
from services.kernel.settings import KernelSettings

__all__ = ["KEEP_FOREVER", "SERVICES", "all_topics", "ensure_topics"]
KEEP_FOREVER = {"retention.ms": "-1", "cleanup.policy": "delete"}


def all_topics(settings: KernelSettings) -> dict[str, int]:
    """Topic name -> partition count, for the event logs and the dead-letter topics."""
    topics = {settings.topic(s.own_topic): settings.topic_partitions for s in CATALOGUE}
    topics.update({settings.dead_letter_topic(s.name): 1 for s in CATALOGUE})
    return topics


async def ensure_topics(settings: KernelSettings, attempts: int = 30) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    for attempt in range(attempts):
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(1)
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name, partitions, 1, topic_configs=KEEP_FOREVER)
            for name, partitions in all_topics(settings).items()
            if name not in existing
        ]
        if wanted:
            # Another service may have created them first.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
    finally:
        await admin.close()
