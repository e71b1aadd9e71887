"""The notifier's mail policy scenarios (tests/support_notifier.py) on the real store: the
notifier's runtime over PostgreSQL and Kafka, its state read through the read models, with the
same hand-written mailer and composer as the in-memory run in tests/unit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from contracts import Envelope
from contracts.tokens import ClaimTokenSettings
from services.kernel.settings import KernelSettings
from services.kernel.unit_of_work import UnitOfWork
from services.notifier.adapters.read_models import ReadModels
from services.notifier.bootstrap import NotifierRuntime, Settings, bootstrap
from services.notifier.domain.email import EmailState
from services.notifier.settings import NotifierSettings
from tests.support_notifier import SCENARIOS, FakeMailer, Store, fake_compose


class PostgresStore:
    def __init__(self, runtime: NotifierRuntime, mailer: FakeMailer) -> None:
        self.runtime = runtime
        self.mailer = mailer

    async def receive(self, envelope: Envelope[Any]) -> None:
        async def work(uow: UnitOfWork) -> None:
            if await uow.claim(envelope.event_id):
                await uow.apply(envelope)

        await self.runtime.execute(work)

    async def email(self, email_id: uuid.UUID) -> EmailState | None:
        async def work(uow: UnitOfWork) -> EmailState | None:
            return await ReadModels(uow).email(email_id)

        state: EmailState | None = await self.runtime.execute(work)
        return state


@pytest.fixture(scope="module")
async def runtime(infra: Any) -> AsyncIterator[tuple[NotifierRuntime, FakeMailer]]:
    settings = Settings(
        kernel=KernelSettings(
            KAFKA_BOOTSTRAP_SERVERS=infra.kafka_bootstrap_servers,
            DATABASE_URL=infra.database_url,
            NAMESPACE=f"t{uuid.uuid4().hex[:10]}",
            TOPIC_PARTITIONS=1,
        ),
        notifier=NotifierSettings(smtp_backoff_seconds=5, smtp_backoff_max_seconds=60),
        tokens=ClaimTokenSettings(CLAIM_TOKEN_SECRET="policy-store-" + uuid.uuid4().hex * 2),
    )
    mailer = FakeMailer()
    built = bootstrap(settings, mailer=mailer, compose=fake_compose)
    await built.open()
    try:
        yield built, mailer
    finally:
        await built.close()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
async def test_scenario_on_postgresql(
    runtime: tuple[NotifierRuntime, FakeMailer], scenario: Callable[[Store], Awaitable[None]]
) -> None:
    built, mailer = runtime
    mailer.sent.clear()
    mailer.outcomes.clear()
    await scenario(PostgresStore(built, mailer))
