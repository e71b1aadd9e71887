"""Appends events to Kafka safely: acks from all replicas, idempotent producer,
key = aggregate id."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from contracts import Envelope, encode


class EventPublisher:
    def __init__(self, bootstrap_servers: str, topic_for: dict[str, str]) -> None:
        # topic_for maps a contract topic ("badge.events") to its namespaced name.
        self._topic_for = topic_for
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=0,
            request_timeout_ms=15_000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, envelope: Envelope[Any]) -> asyncio.Future[Any]:
        """Queue an event; the returned future resolves once every replica has it."""
        topic = self._topic_for[type(envelope.payload).topic]
        future: asyncio.Future[Any] = await self._producer.send(
            topic, encode(envelope), key=str(envelope.stream_id).encode()
        )
        return future

    async def publish(self, envelope: Envelope[Any]) -> None:
        await (await self.send(envelope))

    async def partitions_for(self, topic: str) -> list[int]:
        """The topic's partitions, from fresh metadata (the consumer has no public way)."""
        return sorted(await self._producer.partitions_for(topic))

    async def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        await (await self._producer.send(topic, value, key=key, headers=headers))
