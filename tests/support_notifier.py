"""The notifier's mail policies as scenarios over a store: run on the in-memory unit of work
(tests/unit/test_notifier_policies.py) and on PostgreSQL and Kafka
(tests/integration/test_notifier_policies_store.py), with the same hand-written mailer and
composer, so only the store differs."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol, TypeVar

from contracts import Envelope, new_envelope
from contracts.badge import BadgeOffered, OfferResendRequested, PeerReviewerInvited
from contracts.evidence import ReviewRequested
from services.kernel.store import Connection
from services.notifier.delivery import Composed
from services.notifier.domain.attempts import Delivery
from services.notifier.domain.email import EmailState, Status, email_id
from services.notifier.domain.requests import offer_resend_failure_id
from services.notifier.domain.schedule import RetryPolicy
from services.notifier.domain.state import MailSource

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


class Store(Protocol):
    """The notifier's handlers over one store, as the consumer runs them."""

    mailer: FakeMailer

    async def receive(self, envelope: Envelope[Any]) -> None:
        """Apply an event read from a log, in a unit of work of its own."""
        ...

    async def email(self, email_id: uuid.UUID) -> EmailState | None:
        """The email's state, through the state port."""
        ...


P = TypeVar("P", BadgeOffered, PeerReviewerInvited, OfferResendRequested, ReviewRequested)


def event(payload: P) -> Envelope[P]:
    return new_envelope(payload, stream_id=uuid.uuid4(), stream_version=1, actor="organiser:x")


def offered(recipient: str = "ada@example.org") -> Envelope[BadgeOffered]:
    return event(
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


def _domain() -> str:
    return f"n{uuid.uuid4().hex[:8]}.example.org"


# -- scenarios ----------------------------------------------------------------------------------


async def an_offer_is_mailed_once_and_recorded_as_sent(store: Store) -> None:
    offer = offered(f"ada@{_domain()}")
    await store.receive(offer)
    assert store.mailer.recipients() == [offer.payload.recipient_email]
    state = await store.email(email_id(offer.event_id, "offer", ""))
    assert state is not None and state.status is Status.SENT and state.attempts == 1
    assert state.offer_id == offer.payload.offer_id
    assert state.detail == f"offer for {offer.payload.recipient_email}"


async def a_transient_failure_defers_the_email(store: Store) -> None:
    store.mailer.outcomes = [Delivery(sent=False, error="451 try later")]
    offer = offered(f"ada@{_domain()}")
    await store.receive(offer)
    assert store.mailer.sent == []
    state = await store.email(email_id(offer.event_id, "offer", ""))
    assert state is not None and state.status is Status.RETRYING and state.attempts == 1
    assert state.source_event_id == offer.event_id and state.detail == "451 try later"
    assert state.next_attempt_at is not None and state.failing_since is not None
    assert state.next_attempt_at - state.failing_since == timedelta(seconds=5)


async def a_permanent_refusal_is_recorded_as_failed_at_once(store: Store) -> None:
    store.mailer.outcomes = [Delivery(sent=False, permanent=True, error="550 no such")]
    offer = offered(f"nobody@{_domain()}")
    await store.receive(offer)
    state = await store.email(email_id(offer.event_id, "offer", ""))
    assert state is not None and state.status is Status.FAILED
    assert state.detail == "550 no such" and state.attempts == 1


async def a_review_request_mails_each_reviewer_their_own_email(store: Store) -> None:
    domain = _domain()
    reviewers = (f"a@{domain}", f"b@{domain}")
    request = event(
        ReviewRequested(
            submission_id=uuid.uuid4(),
            quest_id=uuid.uuid4(),
            role="peer",
            reviewers=reviewers,
            badge_name="Rivers",
            task_title="Map",
        )
    )
    await store.receive(request)
    assert sorted(store.mailer.recipients()) == list(reviewers)
    for reviewer in reviewers:
        state = await store.email(email_id(request.event_id, "review_requested", reviewer))
        assert state is not None and state.status is Status.SENT and state.recipient == reviewer


async def a_peer_reviewer_invited_again_gets_no_second_invitation(store: Store) -> None:
    badge, reviewer = uuid.uuid4(), f"rev@{_domain()}"
    first = event(PeerReviewerInvited(badge_class_id=badge, email=reviewer))
    again = event(PeerReviewerInvited(badge_class_id=badge, email=reviewer.upper()))
    other = event(PeerReviewerInvited(badge_class_id=uuid.uuid4(), email=reviewer))
    for invitation in (first, again, other):
        await store.receive(invitation)
    assert store.mailer.recipients() == [reviewer, reviewer]
    assert await store.email(email_id(again.event_id, "review_requested", reviewer.upper())) is None
    for mailed in (first, other):
        state = await store.email(email_id(mailed.event_id, "review_requested", reviewer))
        assert state is not None and state.status is Status.SENT


async def a_resend_of_an_offer_mails_it_again_as_a_new_email(store: Store) -> None:
    offer = offered(f"ada@{_domain()}")
    await store.receive(offer)
    resend = event(
        OfferResendRequested(
            offer_id=offer.payload.offer_id, badge_class_id=offer.payload.badge_class_id
        )
    )
    await store.receive(resend)
    assert store.mailer.recipients() == [offer.payload.recipient_email] * 2
    state = await store.email(email_id(resend.event_id, "offer", ""))
    assert state is not None and state.status is Status.SENT
    assert state.cause_event_id == resend.event_id and state.offer_id == offer.payload.offer_id


async def a_resend_of_an_offer_never_seen_is_recorded_as_failed(store: Store) -> None:
    unknown = uuid.uuid4()
    resend = event(OfferResendRequested(offer_id=unknown, badge_class_id=uuid.uuid4()))
    await store.receive(resend)
    assert store.mailer.sent == []
    state = await store.email(offer_resend_failure_id(resend.event_id))
    assert state is not None and state.status is Status.FAILED
    assert state.offer_id == unknown and state.recipient == "(unknown)"
    assert "rebuild the notifier" in state.detail


SCENARIOS: list[Callable[[Store], Awaitable[None]]] = [
    an_offer_is_mailed_once_and_recorded_as_sent,
    a_transient_failure_defers_the_email,
    a_permanent_refusal_is_recorded_as_failed_at_once,
    a_review_request_mails_each_reviewer_their_own_email,
    a_peer_reviewer_invited_again_gets_no_second_invitation,
    a_resend_of_an_offer_mails_it_again_as_a_new_email,
    a_resend_of_an_offer_never_seen_is_recorded_as_failed,
]
