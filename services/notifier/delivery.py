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
from typing import Any, Protocol

from contracts import Envelope, new_envelope
from contracts.notifier import EmailKind
from services.kernel.unit_of_work import UnitOfWork
from services.notifier.domain.attempts import Addressed, Attempt, Delivery, decide_attempt
from services.notifier.domain.email import deferral_id, outcome_id
from services.notifier.domain.schedule import RetryPolicy


class SendsMail(Protocol):
    """One attempt at one message (the SMTP mailer; a fake in tests)."""

    async def deliver(self, message: EmailMessage) -> Delivery: ...


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

    @property
    def addressed(self) -> Addressed:
        return Addressed(
            kind=self.composed.kind,
            recipient=self.composed.recipient,
            cause_event_id=self.cause_event_id,
            source_event_id=self.source_event_id,
            offer_id=self.composed.offer_id,
        )

    @property
    def email_id(self) -> uuid.UUID:
        return self.addressed.email_id


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


class Courier:
    """Makes attempts and records them."""

    def __init__(self, mailer: SendsMail, policy: RetryPolicy) -> None:
        self._mailer = mailer
        self._policy = policy
        self._recorded = Recorded()

    async def attempt(self, uow: UnitOfWork, email: Email, at: Attempt) -> None:
        addressed = email.addressed
        for earlier_id in (addressed.email_id, deferral_id(addressed.email_id, at.number)):
            earlier = self._recorded.get(earlier_id)
            if earlier is not None:
                await uow.emit(earlier, wait=True)  # decided in an earlier try of this unit
                return
        message = await email.composed.render()
        delivery = await self._mailer.deliver(message)
        now = datetime.now(UTC)
        subject = str(message["Subject"])
        for outcome in decide_attempt(addressed, at, delivery, subject, now, self._policy):
            record = new_envelope(
                outcome,
                event_id=outcome_id(addressed.email_id, outcome),
                stream_id=addressed.email_id,
                stream_version=at.stream_version,
                occurred_at=now,
                causation_id=email.cause_event_id,
                correlation_id=email.correlation_id,
                actor="service:notifier",
            )
            self._recorded.keep(record)
            await uow.emit(record, wait=True)
