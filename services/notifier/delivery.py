"""One attempt to mail one email, and its record in the log: EmailSent, EmailFailed, or
EmailDeferred (it waits in the retry schedule while the other emails go on).

Each record is acknowledged by Kafka before the next email goes: a crash or a retried batch
finds it there and does not mail again. The only window for a duplicate is between the SMTP
server accepting a message and Kafka acknowledging its record.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from contracts import Envelope, derived_id, new_envelope
from contracts.notifier import EmailDeferred, EmailFailed, EmailKind, EmailSent
from services.kernel.unit_of_work import UnitOfWork
from services.notifier.adapters import tables
from services.notifier.adapters.smtp import Delivery, Mailer
from services.notifier.schedule import RetryPolicy


def email_id(cause_event_id: uuid.UUID, kind: str, recipient: str) -> uuid.UUID:
    """The id of an email's outcome: one email per cause and recipient (a review request goes
    to several reviewers; an offer or an award to one)."""
    recipient_key = "" if kind in ("offer", "award") else f":{recipient}"
    return derived_id(cause_event_id, "EmailOutcome" + recipient_key)


@dataclass(frozen=True)
class Composed:
    """An email to send: what its record says about it, and how to render its message (only
    when it is attempted: replaying the log renders nothing already mailed)."""

    kind: EmailKind
    recipient: str
    render: Callable[[], Awaitable[EmailMessage]]
    offer_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Email:
    composed: Composed
    cause_event_id: uuid.UUID  # what asked for it (an offer, a resend request ...)
    source_event_id: uuid.UUID  # what it is composed from
    correlation_id: uuid.UUID | None

    @classmethod
    def of(cls, composed: Composed, cause: Envelope[Any], source_event_id: uuid.UUID) -> Email:
        return cls(composed, cause.event_id, source_event_id, cause.correlation_id)

    @property
    def email_id(self) -> uuid.UUID:
        return email_id(self.cause_event_id, self.composed.kind, self.composed.recipient)


@dataclass(frozen=True)
class Attempt:
    """Where an email stands before this attempt."""

    number: int
    failing_since: datetime | None
    stream_version: int


FIRST = Attempt(number=1, failing_since=None, stream_version=1)


class Recorded:
    """Records of attempts this process made, kept from the moment they were decided: when
    appending one to Kafka fails and the transaction is tried again, the record is appended
    from here instead of mailing the person again."""

    def __init__(self, size: int = 100_000) -> None:
        self._records: OrderedDict[uuid.UUID, Envelope[Any]] = OrderedDict()
        self._size = size

    def get(self, record_id: uuid.UUID) -> Envelope[Any] | None:
        return self._records.get(record_id)

    def keep(self, record: Envelope[Any]) -> None:
        self._records[record.event_id] = record
        if len(self._records) > self._size:
            self._records.popitem(last=False)


def _deferral_id(email: uuid.UUID, attempt: int) -> uuid.UUID:
    return derived_id(email, f"EmailDeferred:{attempt}")


class Courier:
    """Makes attempts and records them."""

    def __init__(self, mailer: Mailer, policy: RetryPolicy) -> None:
        self._mailer = mailer
        self._policy = policy
        self._recorded = Recorded()

    async def first_attempt(self, uow: UnitOfWork, email: Email) -> None:
        """Mail at once, unless it was mailed (or is in the retry schedule) already."""
        if await uow.is_applied(email.email_id):
            return  # mailed and recorded before (a redelivery, or a replay)
        if await tables.retry_pending(uow.conn, email.email_id):
            return  # the retry schedule has it (replaying the log, or a redelivery)
        await self.attempt(uow, email, FIRST)

    async def attempt(self, uow: UnitOfWork, email: Email, at: Attempt) -> None:
        for earlier_id in (email.email_id, _deferral_id(email.email_id, at.number)):
            earlier = self._recorded.get(earlier_id)
            if earlier is not None:
                await uow.emit(earlier, wait=True)  # decided in an earlier try of this unit
                return
        message = await email.composed.render()
        delivery = await self._mailer.deliver(message)
        record = self._record(email, at, message, delivery, datetime.now(UTC))
        self._recorded.keep(record)
        await uow.emit(record, wait=True)

    def _record(
        self, email: Email, at: Attempt, message: EmailMessage, delivery: Delivery, now: datetime
    ) -> Envelope[Any]:
        composed = email.composed
        failing_since = at.failing_since or now
        outcome: EmailSent | EmailFailed | EmailDeferred
        if delivery.sent:
            outcome = EmailSent(
                cause_event_id=email.cause_event_id,
                kind=composed.kind,
                recipient=composed.recipient,
                subject=str(message["Subject"])[:500],
                attempts=at.number,
                offer_id=composed.offer_id,
            )
            record_id = email.email_id
        elif delivery.permanent or self._policy.gives_up(failing_since, now):
            reason = delivery.error
            if not delivery.permanent:
                reason += f" (still failing after {at.number} attempts over "
                reason += f"{self._policy.describe()})"
            outcome = EmailFailed(
                cause_event_id=email.cause_event_id,
                kind=composed.kind,
                recipient=composed.recipient,
                reason=reason[-2_000:],
                attempts=at.number,
                offer_id=composed.offer_id,
            )
            record_id = email.email_id
        else:
            outcome = EmailDeferred(
                email_id=email.email_id,
                cause_event_id=email.cause_event_id,
                source_event_id=email.source_event_id,
                kind=composed.kind,
                recipient=composed.recipient,
                offer_id=composed.offer_id,
                reason=delivery.error[:2_000],
                attempt=at.number,
                failing_since=failing_since,
                next_attempt_at=self._policy.next_attempt_at(now, at.number),
            )
            record_id = _deferral_id(email.email_id, at.number)
        return new_envelope(
            outcome,
            event_id=record_id,
            stream_id=email.email_id,
            stream_version=at.stream_version,
            occurred_at=now,
            causation_id=email.cause_event_id,
            correlation_id=email.correlation_id,
            actor="service:notifier",
        )
