"""The badge service's policies on the real unit of work and its PostgreSQL read models: the
scenarios tests/unit/test_badge_policies.py runs in memory, run here on the store the service
runs on, so the projections and `evolve` are held to the same decisions. Nothing goes to
Kafka: the publisher is a stand-in that keeps what would have been appended."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest

from contracts import Envelope
from contracts.badge import TOPIC
from services.badge.adapters.read_models import DDL, PostgresBadgeStates
from services.badge.adapters.state import BadgeStates
from services.badge.handlers import build_handlers
from services.kernel import store
from services.kernel.blob_store import BlobStore
from services.kernel.publisher import EventPublisher
from services.kernel.unit_of_work import UnitOfWork
from tests.support_badge_policies import SCENARIOS

pytestmark = pytest.mark.integration

Scenario = Callable[[UnitOfWork, BadgeStates], Awaitable[None]]


class KeptAppends:
    """What the unit of work asks of a publisher, without Kafka."""

    write_timeout = 5.0

    def __init__(self) -> None:
        self.appended: list[Envelope[Any]] = []

    def recently_appended(self, event_id: uuid.UUID) -> None:
        return None

    async def append(
        self, outbox: list[Envelope[Any]], deadline: Any, earlier: Any, headers: Any = None
    ) -> None:
        self.appended.extend(outbox)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
async def test_policies_on_postgresql(scenario: Scenario, infra: Any, tmp_path: Path) -> None:
    schema = f"t{uuid.uuid4().hex[:10]}_badge_policies"
    pool = await store.create_pool(infra.database_url, schema, max_size=1)
    try:
        await store.migrate(pool, DDL)
        publisher = KeptAppends()
        handlers = build_handlers(BlobStore(tmp_path))
        async with pool.acquire() as conn, conn.transaction():
            uow = UnitOfWork(conn, cast(EventPublisher, publisher), handlers, TOPIC)
            await scenario(uow, PostgresBadgeStates(uow.conn))
            await uow.flush()
        assert publisher.appended
        assert all(type(e.payload).topic == TOPIC for e in publisher.appended)
    finally:
        await pool.close()
        await store.drop_schema(infra.database_url, schema)
