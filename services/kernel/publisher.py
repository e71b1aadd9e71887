"""Appends events to Kafka safely: acks from all replicas, idempotent producer,
key = aggregate id."""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from typing import Any

from aiokafka import AIOKafkaProducer

from contracts import Envelope, encode


class EventPublisher:
    def __init__(self, bootstrap_servers: str, topic_for: dict[str, str]) -> None:
        # topic_for maps a contract topic ("badge.events") to its namespaced name.
        self._topic_for = topic_for
        # Events this process appended lately, kept though the transaction that emitted them
        # rolled back: when it is retried, its decisions are found here, not made (or, for an
        # email, carried out) again.
        self._recent: OrderedDict[uuid.UUID, Envelope[Any]] = OrderedDict()
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

    def recently_appended(self, event_id: uuid.UUID) -> Envelope[Any] | None:
        return self._recent.get(event_id)

    def _remember(self, envelope: Envelope[Any]) -> None:
        self._recent[envelope.event_id] = envelope
        if len(self._recent) > 100_000:
            self._recent.popitem(last=False)

    async def send(self, envelope: Envelope[Any]) -> asyncio.Future[Any]:
        """Queue an event; the returned future resolves once every replica has it."""
        topic = self._topic_for[type(envelope.payload).topic]
        # The id and type ride along as headers so a reader can tell events apart
        # without decoding them (catching up collects the ids of a whole topic).
        headers = [
            ("event_id", str(envelope.event_id).encode()),
            ("event_type", envelope.event_type.encode()),
        ]
        future: asyncio.Future[Any] = await self._producer.send(
            topic, encode(envelope), key=str(envelope.stream_id).encode(), headers=headers
        )
        future.add_done_callback(
            lambda done: None if done.cancelled() or done.exception() else self._remember(envelope)
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
