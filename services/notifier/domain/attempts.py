"""What one attempt to mail an email ends in: sent, failed for good, or deferred in the retry
schedule (failed when the schedule is exhausted), and whether an email is attempted at all."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from contracts.notifier import EmailDeferred, EmailFailed, EmailKind, EmailSent
from services.notifier.domain.email import EmailOutcome, EmailState, email_id
from services.notifier.domain.schedule import RetryPolicy


@dataclass(frozen=True)
class Delivery:
    """What the SMTP server made of one attempt."""

    sent: bool
    # A 5xx refusal of the message: trying again will not change it.
    permanent: bool = False
    error: str = ""


@dataclass(frozen=True)
class Addressed:
    """What an email's records say about it: who it is for, what asked for it, and what it is
    composed from."""

    kind: EmailKind
    recipient: str
    cause_event_id: uuid.UUID  # what asked for it (an offer, a resend request ...)
    source_event_id: uuid.UUID  # the event whose content it carries
    offer_id: uuid.UUID | None = None

    @property
    def email_id(self) -> uuid.UUID:
        return email_id(self.cause_event_id, self.kind, self.recipient)


@dataclass(frozen=True)
class Attempt:
    """Where an email stands before this attempt."""

    number: int
    failing_since: datetime | None
    stream_version: int

    @classmethod
    def after(cls, state: EmailState) -> Attempt:
        """The attempt that follows what the retry schedule holds."""
        return cls(state.attempts + 1, state.failing_since, state.version + 1)


FIRST = Attempt(number=1, failing_since=None, stream_version=1)


def decide_first_attempt(state: EmailState | None) -> bool:
    """An email asked for is mailed at once, unless it was mailed or given up already, or the
    retry schedule has it (a redelivery, or a replay of the log)."""
    return state is None


def decide_attempt(
    email: Addressed,
    at: Attempt,
    delivery: Delivery,
    subject: str,
    now: datetime,
    policy: RetryPolicy,
) -> list[EmailOutcome]:
    """The record of one attempt made `now`."""
    failing_since = at.failing_since or now
    if delivery.sent:
        return [
            EmailSent(
                cause_event_id=email.cause_event_id,
                kind=email.kind,
                recipient=email.recipient,
                subject=subject[:500],
                attempts=at.number,
                offer_id=email.offer_id,
            )
        ]
    if delivery.permanent or policy.gives_up(failing_since, now):
        reason = delivery.error
        if not delivery.permanent:
            reason += f" (still failing after {at.number} attempts over {policy.describe()})"
        return [
            EmailFailed(
                cause_event_id=email.cause_event_id,
                kind=email.kind,
                recipient=email.recipient,
                reason=reason[-2_000:],
                attempts=at.number,
                offer_id=email.offer_id,
            )
        ]
    return [
        EmailDeferred(
            email_id=email.email_id,
            cause_event_id=email.cause_event_id,
            source_event_id=email.source_event_id,
            kind=email.kind,
            recipient=email.recipient,
            offer_id=email.offer_id,
            reason=delivery.error[:2_000],
            attempt=at.number,
            failing_since=failing_since,
            next_attempt_at=policy.next_attempt_at(now, at.number),
        )
    ]


def decide_missing_source(state: EmailState) -> list[EmailFailed]:
    """A retry whose source event is not kept here can never be composed: it fails, saying
    why, rather than wait in the schedule for ever."""
    return [
        EmailFailed(
            cause_event_id=state.cause_event_id,
            kind=state.kind,
            recipient=state.recipient,
            reason="the event this email is composed from is missing",
            attempts=max(state.attempts, 1),
            offer_id=state.offer_id,
        )
    ]
