"""The notifier's mail policy scenarios (tests/support_notifier.py) on the real store: the
notifier's runtime over PostgreSQL and Kafka, its state read through the read models, with the
same hand-written mailer and composer as the in-memory run in tests/unit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from contracts import Envelope
from contracts.tokens import ClaimTokenSettings
from services.kernel.unit_of_work import UnitOfWork
from services.notifier.adapters.read_models import ReadModels
from services.notifier.bootstrap import NotifierRuntime, Settings, bootstrap
from services.notifier.domain.attempts import Delivery
from services.notifier.domain.email import EmailState, Status, email_id
from services.notifier.settings import NotifierSettings
from tests.support_notifier import SCENARIOS, FakeMailer, Store, fake_compose, offered


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
        kernel=infra.kernel_settings(1),
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


@pytest.fixture(scope="module")
async def quick_retries(infra: Any) -> AsyncIterator[tuple[NotifierRuntime, FakeMailer]]:
    """A notifier whose retry schedule moves in fractions of a second."""
    settings = Settings(
        kernel=infra.kernel_settings(1),
        notifier=NotifierSettings(
            smtp_backoff_seconds=0.05, smtp_backoff_max_seconds=0.1, smtp_retry_period_seconds=1
        ),
        tokens=ClaimTokenSettings(CLAIM_TOKEN_SECRET="policy-store-" + uuid.uuid4().hex * 2),
    )
    mailer = FakeMailer()
    built = bootstrap(settings, mailer=mailer, compose=fake_compose)
    await built.open()
    try:
        yield built, mailer
    finally:
        await built.close()


async def _retry_until(
    store: PostgresStore, email: uuid.UUID, status: Status, rounds: int = 100
) -> EmailState:
    for _ in range(rounds):
        await asyncio.sleep(0.06)
        await store.runtime.schedule.run_due()
        state = await store.email(email)
        if state is not None and state.status is status:
            return state
    raise AssertionError(f"email {email} never became {status}")


async def test_the_retry_schedule_sends_a_deferred_email_once_it_is_taken(
    quick_retries: tuple[NotifierRuntime, FakeMailer],
) -> None:
    built, mailer = quick_retries
    store = PostgresStore(built, mailer)
    mailer.outcomes = [Delivery(sent=False, error="451 later")] * 2
    offer = offered(f"late@{uuid.uuid4().hex[:8]}.example.org")
    await store.receive(offer)
    email = email_id(offer.event_id, "offer", "")
    waiting = await store.email(email)
    assert waiting is not None and waiting.status is Status.RETRYING and mailer.sent == []

    sent = await _retry_until(store, email, Status.SENT)
    assert sent.attempts == 3
    assert mailer.recipients() == [offer.payload.recipient_email]
    await built.schedule.run_due()  # nothing is left in the schedule to mail again
    assert len(mailer.sent) == 1


async def test_the_retry_schedule_gives_up_after_the_retry_period(
    quick_retries: tuple[NotifierRuntime, FakeMailer],
) -> None:
    built, mailer = quick_retries
    store = PostgresStore(built, mailer)
    mailer.outcomes = [Delivery(sent=False, error="451 later")] * 1_000
    offer = offered(f"gone@{uuid.uuid4().hex[:8]}.example.org")
    await store.receive(offer)
    failed = await _retry_until(store, email_id(offer.event_id, "offer", ""), Status.FAILED)
    assert failed.attempts >= 2 and "still failing after" in failed.detail
    mailer.outcomes.clear()
