"""The notifier's mail policies on the in-memory unit of work, with a hand-written mailer and
composer: what is mailed, what is recorded, and that nothing is mailed twice on a redelivery,
a replay, or a unit of work tried again after its record failed to reach the log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

import pytest

from contracts import Envelope, new_envelope
from contracts.badge import BadgeOffered, OfferResendRequested, PeerReviewerInvited
from contracts.evidence import ReviewRequested
from contracts.notifier import TOPIC, EmailDeferred, EmailFailed, EmailSent
from services.kernel.in_memory import InMemoryUnitOfWork
from services.kernel.store import Connection
from services.notifier.adapters.in_memory import InMemoryMailState
from services.notifier.delivery import Composed, Courier
from services.notifier.domain.attempts import Delivery
from services.notifier.domain.email import Status
from services.notifier.domain.schedule import RetryPolicy
from services.notifier.domain.state import MailSource
from services.notifier.handlers import build_handlers
from services.notifier.policies import MailPolicies

POLICY = RetryPolicy(
    backoff=timedelta(seconds=5), backoff_max=timedelta(seconds=60), period=timedelta(hours=24)
)


class FakeMailer:
    """Accepts every message, unless told what the next attempts end in."""

    def __init__(self) -> None:
        self.outcomes: list[Delivery] = []
        self.sent: list[EmailMessage] = []

    async def deliver(self, message: EmailMessage) -> Delivery:
        delivery = self.outcomes.pop(0) if self.outcomes else Delivery(sent=True)
        if delivery.sent:
            self.sent.append(message)
        return delivery

    def recipients(self) -> list[str]:
        return [str(message["To"]) for message in self.sent]


async def fake_compose(conn: Connection, source: MailSource) -> list[Composed]:
    """One email per recipient the event names, its subject saying what it is for."""
    event = source.payload

    def composed(kind: Any, recipient: str, offer_id: uuid.UUID | None = None) -> Composed:
        async def render() -> EmailMessage:
            message = EmailMessage()
            message["To"], message["Subject"] = recipient, f"{kind} for {recipient}"
            return message

        return Composed(kind, recipient, render, offer_id)

    if isinstance(event, BadgeOffered):
        return [composed("offer", event.recipient_email, event.offer_id)]
    if isinstance(event, ReviewRequested):
        return [composed("review_requested", reviewer) for reviewer in event.reviewers]
    if isinstance(event, PeerReviewerInvited):
        return [composed("review_requested", event.email)]
    raise AssertionError(f"not composed in these tests: {type(event).__name__}")


class Notifier:
    """The notifier's handlers over an in-memory state, as the consumer runs them."""

    def __init__(self, state: InMemoryMailState | None = None) -> None:
        self.state = state or InMemoryMailState()
        self.mailer = FakeMailer()
        self.courier = Courier(self.mailer, POLICY)
        self.policies = MailPolicies(fake_compose, self.courier, lambda uow: self.state)
        self.handlers = build_handlers(self.policies, projections=self.state.projections())
        self.uow = self.new_unit_of_work()

    def new_unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.handlers, own_topic=TOPIC)

    def recorded(self, event_type: type[Any]) -> list[Envelope[Any]]:
        return [e for e in self.uow.emitted if isinstance(e.payload, event_type)]


P = TypeVar("P", BadgeOffered, PeerReviewerInvited, OfferResendRequested, ReviewRequested)


def _badge_event(event: P) -> Envelope[P]:
    return new_envelope(event, stream_id=uuid.uuid4(), stream_version=1, actor="organiser:x")


def offered(recipient: str = "ada@example.org") -> Envelope[BadgeOffered]:
    return _badge_event(
        BadgeOffered(
            offer_id=uuid.uuid4(),
            badge_class_id=uuid.uuid4(),
            issuer_id=uuid.uuid4(),
            recipient_email=recipient,
            via="email",
            expires_at=datetime(2027, 1, 1, tzinfo=UTC),
            badge_name="Rivers",
            badge_description="Knows rivers",
            issuer_name="Riverside",
        )
    )


async def test_an_offer_is_mailed_once_and_recorded_as_sent() -> None:
    notifier = Notifier()
    offer = offered()
    assert await notifier.uow.receive(offer)

    assert notifier.mailer.recipients() == ["ada@example.org"]
    [sent] = notifier.recorded(EmailSent)
    assert sent.payload.offer_id == offer.payload.offer_id and sent.payload.attempts == 1
    assert sent.causation_id == offer.event_id and sent.stream_version == 1
    state = notifier.state.emails[sent.event_id]
    assert state.status is Status.SENT and state.detail == "offer for ada@example.org"
    assert notifier.state.sources[offer.event_id] == offer  # kept for retries and resends

    # Redelivered after a restart (a new unit of work): its record is known, nothing is mailed.
    again = notifier.new_unit_of_work()
    assert await again.receive(offer)
    assert again.emitted == [] and len(notifier.mailer.sent) == 1


async def test_a_transient_failure_defers_and_a_redelivery_leaves_it_to_the_schedule() -> None:
    notifier = Notifier()
    notifier.mailer.outcomes = [Delivery(sent=False, error="451 try later")]
    offer = offered()
    await notifier.uow.receive(offer)

    assert notifier.mailer.sent == []
    [deferred] = notifier.recorded(EmailDeferred)
    assert deferred.payload.attempt == 1 and "451" in deferred.payload.reason
    waiting = notifier.state.emails[deferred.payload.email_id]
    assert waiting.status is Status.RETRYING and waiting.source_event_id == offer.event_id

    again = notifier.new_unit_of_work()
    await again.receive(offer)
    assert again.emitted == [] and notifier.mailer.sent == []


async def test_a_permanent_refusal_is_recorded_as_failed_at_once() -> None:
    notifier = Notifier()
    notifier.mailer.outcomes = [Delivery(sent=False, permanent=True, error="550 no such")]
    await notifier.uow.receive(offered())
    [failed] = notifier.recorded(EmailFailed)
    assert failed.payload.reason == "550 no such" and failed.payload.attempts == 1
    assert notifier.recorded(EmailDeferred) == []


async def test_a_review_request_mails_each_reviewer_their_own_email() -> None:
    notifier = Notifier()
    request = _badge_event(
        ReviewRequested(
            submission_id=uuid.uuid4(),
            quest_id=uuid.uuid4(),
            role="peer",
            reviewers=("a@example.org", "b@example.org"),
            badge_name="Rivers",
            task_title="Map",
        )
    )
    await notifier.uow.receive(request)
    assert sorted(notifier.mailer.recipients()) == ["a@example.org", "b@example.org"]
    assert len({e.event_id for e in notifier.recorded(EmailSent)}) == 2


async def test_a_peer_reviewer_invited_again_gets_no_second_invitation() -> None:
    notifier = Notifier()
    badge = uuid.uuid4()
    first = _badge_event(PeerReviewerInvited(badge_class_id=badge, email="rev@example.org"))
    again = _badge_event(PeerReviewerInvited(badge_class_id=badge, email="REV@example.org"))
    other_badge = _badge_event(
        PeerReviewerInvited(badge_class_id=uuid.uuid4(), email="rev@example.org")
    )
    for event in (first, again, other_badge):
        await notifier.uow.receive(event)
    assert notifier.mailer.recipients() == ["rev@example.org", "rev@example.org"]
    assert {e.causation_id for e in notifier.recorded(EmailSent)} == {
        first.event_id,
        other_badge.event_id,
    }


async def test_a_resend_of_an_offer_mails_it_again_as_a_new_email() -> None:
    notifier = Notifier()
    offer = offered()
    await notifier.uow.receive(offer)
    resend = _badge_event(
        OfferResendRequested(
            offer_id=offer.payload.offer_id, badge_class_id=offer.payload.badge_class_id
        )
    )
    await notifier.uow.receive(resend)

    assert notifier.mailer.recipients() == ["ada@example.org", "ada@example.org"]
    first, second = notifier.recorded(EmailSent)
    assert first.event_id != second.event_id and second.causation_id == resend.event_id
    assert second.payload.offer_id == offer.payload.offer_id


async def test_a_resend_of_an_offer_the_notifier_never_saw_is_recorded_as_failed() -> None:
    notifier = Notifier()
    unknown = uuid.uuid4()
    await notifier.uow.receive(
        _badge_event(OfferResendRequested(offer_id=unknown, badge_class_id=uuid.uuid4()))
    )
    assert notifier.mailer.sent == []
    [failed] = notifier.recorded(EmailFailed)
    assert failed.payload.offer_id == unknown and failed.payload.recipient == "(unknown)"
    assert "rebuild the notifier" in failed.payload.reason


class LosesTheFirstRecord(InMemoryUnitOfWork):
    """A unit of work whose first append to the log fails (Kafka away after SMTP accepted)."""

    async def emit(self, envelope: Envelope[Any], *, wait: bool = False) -> bool:
        raise ConnectionError("Kafka did not acknowledge")


async def test_a_unit_of_work_tried_again_after_its_record_was_lost_does_not_mail_again() -> None:
    notifier = Notifier()
    offer = offered()
    failing = LosesTheFirstRecord(notifier.handlers, own_topic=TOPIC)
    with pytest.raises(ConnectionError):
        await failing.receive(offer)
    assert len(notifier.mailer.sent) == 1  # mailed; its record is not in the log

    # The consumer tries the event again: the record kept from the first try is appended.
    retried = notifier.new_unit_of_work()
    await retried.receive(offer)
    assert len(notifier.mailer.sent) == 1
    [sent] = [e for e in retried.emitted if isinstance(e.payload, EmailSent)]
    assert notifier.state.emails[sent.event_id].status is Status.SENT
