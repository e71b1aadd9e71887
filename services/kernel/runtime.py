"""Wires one service: its schema, publisher and consumer, and the commands every service has
(serve, rebuild, checksum)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

import contracts
from services.kernel import store
from services.kernel.consumer import ConsumerConfig, EventConsumer
from services.kernel.publisher import EventPublisher
from services.kernel.settings import KernelSettings
from services.kernel.topics import ensure_topics
from services.kernel.unit_of_work import HandlerMap, UnitOfWork, run_unit_of_work

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ServiceSpec:
    """What the kernel needs to know about a service."""

    name: str
    own_topic: str  # contract topic name, e.g. "badge.events"
    input_topics: tuple[str, ...]
    ddl: str
    checksum_tables: tuple[str, ...]


class ServiceRuntime:
    def __init__(
        self,
        spec: ServiceSpec,
        settings: KernelSettings,
        build_handlers: Callable[[ServiceRuntime], HandlerMap],
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.schema = settings.schema_name(spec.name)
        self._build_handlers = build_handlers
        self._pool: asyncpg.Pool | None = None
        self._publisher: EventPublisher | None = None
        self._consumer: EventConsumer | None = None
        self._consumer_task: asyncio.Task[None] | None = None
        self.handlers: HandlerMap = {}
        self.caught_up = False

    # -- wiring ------------------------------------------------------------------------------

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "runtime not started"
        return self._pool

    @property
    def publisher(self) -> EventPublisher:
        assert self._publisher is not None, "runtime not started"
        return self._publisher

    @property
    def consumer(self) -> EventConsumer:
        assert self._consumer is not None, "runtime not started"
        return self._consumer

    def topic(self, contract_topic: str) -> str:
        return self.settings.topic(contract_topic)

    async def open(self) -> None:
        """Connect to Kafka and PostgreSQL and migrate the schema; consume nothing yet."""
        await ensure_topics(self.settings)
        self._pool = await store.create_pool(self.settings.database_url, self.schema)
        await store.migrate(self._pool, self.spec.ddl)
        self._publisher = EventPublisher(
            self.settings.kafka_bootstrap_servers,
            {name: self.topic(name) for name in contracts.TOPICS},
        )
        await self._publisher.start()
        self.handlers = self._build_handlers(self)
        namespaced = {self.topic(name): name for name in contracts.TOPICS}
        self._consumer = EventConsumer(
            ConsumerConfig(
                group_id=self.settings.topic(f"{self.spec.name}-service"),
                bootstrap_servers=self.settings.kafka_bootstrap_servers,
                contract_topic_of=namespaced,
                own_topic=self.topic(self.spec.own_topic),
                input_topics=tuple(self.topic(name) for name in self.spec.input_topics),
                dead_letter_topic=self.settings.dead_letter_topic(self.spec.name),
            ),
            self._pool,
            self._publisher,
            self.handlers,
        )

    async def close(self) -> None:
        if self._consumer_task is not None:
            self._consumer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer_task
        if self._publisher is not None:
            await self._publisher.stop()
        if self._pool is not None:
            await self._pool.close()

    # -- the three commands ------------------------------------------------------------------

    async def start_consuming(self) -> asyncio.Task[None]:
        """Catch up on our own decisions first, then consume everything in the background."""
        await self.consumer.catch_up([self.consumer.config.own_topic])
        self._consumer_task = asyncio.create_task(self.consumer.run(), name="consumer")
        self.caught_up = True
        return self._consumer_task

    async def rebuild(self) -> dict[str, Any]:
        """Empty the schema and replay every topic from the earliest offset.

        Own events first, so decisions already made are known and not made (or mailed) again.
        """
        await self.close()
        await store.drop_schema(self.settings.database_url, self.schema)
        await self.open()
        own = await self.consumer.catch_up([self.consumer.config.own_topic])
        inputs = await self.consumer.catch_up(list(self.consumer.config.input_topics))
        return {"own_records": own, "input_records": inputs, "applied": self.consumer.applied}

    async def checksum(self) -> str:
        return await store.checksum(self.pool, self.spec.checksum_tables)

    async def table_digests(self) -> dict[str, str]:
        return await store.table_digests(self.pool, self.spec.checksum_tables)

    # -- for request handlers ----------------------------------------------------------------

    async def execute(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Run a command in one transaction; the events it emits are in Kafka before it commits."""
        result: T = await run_unit_of_work(
            self.pool, self.publisher, self.handlers, self.spec.own_topic, work
        )
        return result
