"""The notifier's mail policies on the in-memory unit of work, with a hand-written mailer and
composer: what is mailed, what is recorded, and that nothing is mailed twice on a redelivery,
a replay, or a unit of work tried again after its record failed to reach the log. The same
scenarios run on PostgreSQL and Kafka in tests/integration/test_notifier_policies_store.py."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from contracts import Envelope
from contracts.notifier import TOPIC, EmailDeferred, EmailFailed, EmailSent
from services.kernel.in_memory import InMemoryUnitOfWork
from services.notifier.adapters.in_memory import InMemoryMailState
from services.notifier.delivery import Courier
from services.notifier.domain.attempts import Delivery
from services.notifier.domain.email import EmailState, Status
from services.notifier.handlers import build_handlers
from services.notifier.policies import MailPolicies
from tests.support_notifier import POLICY, SCENARIOS, FakeMailer, Store, fake_compose, offered


class MemoryStore:
    """The notifier's handlers over an in-memory state; each event in a unit of work of its
    own, as after a restart (applied ids are not kept across them: the state must tell)."""

    def __init__(self) -> None:
        self.state = InMemoryMailState()
        self.mailer = FakeMailer()
        self.courier = Courier(self.mailer, POLICY)
        policies = MailPolicies(fake_compose, self.courier, lambda uow: self.state)
        self.handlers = build_handlers(policies, projections=self.state.projections())
        self.emitted: list[Envelope[Any]] = []

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.handlers, own_topic=TOPIC)

    async def receive(self, envelope: Envelope[Any]) -> None:
        uow = self.unit_of_work()
        await uow.receive(envelope)
        self.emitted.extend(uow.emitted)

    async def email(self, email_id: uuid.UUID) -> EmailState | None:
        return await self.state.email(email_id)

    def recorded(self, event_type: type[Any]) -> list[Envelope[Any]]:
        return [e for e in self.emitted if isinstance(e.payload, event_type)]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
async def test_scenario_in_memory(scenario: Callable[[Store], Awaitable[None]]) -> None:
    await scenario(MemoryStore())


async def test_an_offer_is_recorded_once_and_a_redelivery_mails_nothing() -> None:
    store = MemoryStore()
    offer = offered()
    await store.receive(offer)
    [sent] = store.recorded(EmailSent)
    assert sent.causation_id == offer.event_id and sent.stream_version == 1
    assert store.state.sources[offer.event_id] == offer  # kept for retries and resends

    await store.receive(offer)  # redelivered after a restart: its record is known
    assert store.recorded(EmailSent) == [sent] and len(store.mailer.sent) == 1


async def test_a_deferred_email_redelivered_is_left_to_the_schedule() -> None:
    store = MemoryStore()
    store.mailer.outcomes = [Delivery(sent=False, error="451 try later")]
    offer = offered()
    await store.receive(offer)
    [deferred] = store.recorded(EmailDeferred)
    assert deferred.payload.attempt == 1 and deferred.stream_version == 1

    await store.receive(offer)
    assert store.recorded(EmailDeferred) == [deferred] and store.mailer.sent == []
    assert store.recorded(EmailSent) == store.recorded(EmailFailed) == []


class LosesTheFirstRecord(InMemoryUnitOfWork):
    """A unit of work whose append to the log fails (Kafka away after SMTP accepted)."""

    async def emit(self, envelope: Envelope[Any], *, wait: bool = False) -> bool:
        raise ConnectionError("Kafka did not acknowledge")


async def test_a_unit_of_work_tried_again_after_its_record_was_lost_does_not_mail_again() -> None:
    store = MemoryStore()
    offer = offered()
    with pytest.raises(ConnectionError):
        await LosesTheFirstRecord(store.handlers, own_topic=TOPIC).receive(offer)
    assert len(store.mailer.sent) == 1  # mailed; its record is not in the log

    # The consumer tries the event again: the record kept from the first try is appended.
    await store.receive(offer)
    assert len(store.mailer.sent) == 1
    [sent] = store.recorded(EmailSent)
    assert store.state.emails[sent.event_id].status is Status.SENT
