"""The evidence policies' cases (tests/unit/test_evidence_policies.py) once more, on
PostgreSQL: the service's real registry, its read models as the policies' state, each event in
its own transaction through the real unit of work. Only Kafka is left out: what the policies
emit is recorded by a hand-written publisher."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import asyncpg
import pytest

from contracts import Envelope
from contracts.evidence import TOPIC
from services.evidence.adapters.read_models import DDL
from services.evidence.handlers import build_handlers
from services.kernel import store
from services.kernel.publisher import EventPublisher
from services.kernel.unit_of_work import UnitOfWork
from tests.unit.test_evidence_policies import PUBLIC_URL, QuestPolicyContract


class RecordingPublisher:
    """What the unit of work asks of a publisher, keeping what it appends."""

    def __init__(self) -> None:
        self.appended: list[Envelope[Any]] = []

    def recently_appended(self, event_id: uuid.UUID) -> None:
        return None

    async def append(
        self,
        envelopes: Sequence[Envelope[Any]],
        deadline: float | None = None,
        earlier: Sequence[asyncio.Future[Any]] = (),
        headers: Any = None,
    ) -> None:
        self.appended.extend(envelopes)


class PostgresStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._publisher = RecordingPublisher()
        self._handlers = build_handlers(PUBLIC_URL)

    @property
    def emitted(self) -> list[Envelope[Any]]:
        return self._publisher.appended

    async def receive(self, envelope: Envelope[Any]) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            publisher = cast(EventPublisher, self._publisher)
            uow = UnitOfWork(conn, publisher, self._handlers, TOPIC)
            if not await uow.claim(envelope.event_id):
                return False
            await uow.apply(envelope)
            await uow.flush()
        return True


async def _store(infra: Any) -> AsyncIterator[PostgresStore]:
    schema = f"t{uuid.uuid4().hex[:12]}_evidence"
    pool = await store.create_pool(infra.database_url, schema, max_size=2)
    try:
        await store.migrate(pool, DDL)
        yield PostgresStore(pool)
    finally:
        await pool.close()
        await store.drop_schema(infra.database_url, schema)


class TestOnPostgreSQL(QuestPolicyContract):
    @pytest.fixture
    async def store(self, infra: Any) -> AsyncIterator[PostgresStore]:
        async for made in _store(infra):
            yield made

    @pytest.fixture
    async def another_store(self, infra: Any) -> AsyncIterator[PostgresStore]:
        async for made in _store(infra):
            yield made
