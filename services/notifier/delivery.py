"""One attempt to mail one email, and its record in the log: EmailSent, EmailFailed, or
EmailDeferred (it waits in the retry schedule while the other emails go on).

Several emails travel at once (NOTIFIER_SMTP_CONNECTIONS), but the server accepts them one at
a time: each email's last line goes only once the record of the one before is acknowledged by
Kafka. A crash or a retried batch finds the records there and does not mail again; the only
window for a duplicate is between the SMTP server accepting a message and Kafka acknowledging
its record, and it holds one message at most.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Protocol, cast

from contracts import Envelope, new_envelope
from contracts.notifier import EmailKind
from services.kernel.unit_of_work import UnitOfWork
from services.notifier.domain.attempts import Addressed, Attempt, Delivery, decide_attempt
from services.notifier.domain.email import deferral_id, outcome_id
from services.notifier.domain.schedule import RetryPolicy
from services.notifier.metrics import EMAILS


class SendsMail(Protocol):
    """One attempt at one message (the SMTP mailer; a fake in tests). A mailer may also
    `prepare` a message (all but its last line, see adapters/smtp.py) and commit it later."""

    async def deliver(self, message: EmailMessage) -> Delivery: ...


class PreparedMessage(Protocol):
    async def commit(self) -> Delivery: ...

    def abort(self) -> None: ...


Prepare = Callable[[EmailMessage], Coroutine[Any, Any, PreparedMessage]]


class _WholeAttempt:
    """For a mailer that only delivers: the whole attempt is made at commit."""

    def __init__(self, mailer: SendsMail, message: EmailMessage) -> None:
        self._mailer = mailer
        self._message = message

    async def commit(self) -> Delivery:
        return await self._mailer.deliver(self._message)

    def abort(self) -> None:
        pass


def _preparer(mailer: SendsMail) -> Prepare:
    prepare = getattr(mailer, "prepare", None)
    if prepare is not None:
        return cast(Prepare, prepare)

    async def whole(message: EmailMessage) -> PreparedMessage:
        return _WholeAttempt(mailer, message)

    return whole


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


@dataclass
class _InFlight:
    """An email on its way, in the unit of work that decided to send it."""

    email: Email
    at: Attempt
    subject: str
    prepared: asyncio.Task[PreparedMessage]

    def abort(self) -> None:
        if not self.prepared.done():
            self.prepared.cancel()
        elif not self.prepared.cancelled() and self.prepared.exception() is None:
            self.prepared.result().abort()


def _abort_all(flights: deque[_InFlight]) -> None:
    while flights:
        flights.popleft().abort()


class Courier:
    """Makes attempts and records them. With more than one connection, a unit of work's
    emails are prepared side by side and committed in order, one at a time, each recorded in
    Kafka before the next is committed; the last are committed before the unit of work
    commits (its flush)."""

    def __init__(
        self,
        mailer: SendsMail,
        policy: RetryPolicy,
        connections: int = 1,
        unrecorded: int = 1,
    ) -> None:
        self._mailer = mailer
        self._prepare = _preparer(mailer)
        self._policy = policy
        self._connections = connections
        # Messages committed together, their records acknowledged by Kafka in one go: the most
        # a crash can mail twice (1 unless the operator trades duplicates for speed).
        self._unrecorded = max(1, min(unrecorded, connections))
        self._recorded = Recorded()
        # One message at a time between the server accepting it and Kafka its record.
        self._commit_turn = asyncio.Lock()
        self._flights: weakref.WeakKeyDictionary[UnitOfWork, deque[_InFlight]] = (
            weakref.WeakKeyDictionary()
        )

    async def attempt(self, uow: UnitOfWork, email: Email, at: Attempt) -> None:
        addressed = email.addressed
        flights = self._flights_of(uow)
        if any(flight.email.email_id == addressed.email_id for flight in flights):
            await self.finish(uow)  # the same email, decided again: it is on its way
            return
        for earlier_id in (addressed.email_id, deferral_id(addressed.email_id, at.number)):
            earlier = self._recorded.get(earlier_id)
            if earlier is not None:
                await uow.emit(earlier, wait=True)  # decided in an earlier try of this unit
                return
        message = await email.composed.render()
        while len(flights) >= self._connections:
            await self._commit(uow, flights)
        prepared = asyncio.create_task(self._prepare(message), name=f"email-{addressed.email_id}")
        flights.append(_InFlight(email, at, str(message["Subject"]), prepared))
        if self._connections == 1:
            await self._commit(uow, flights)

    async def finish(self, uow: UnitOfWork) -> None:
        """Commit and record every email of this unit of work still on its way."""
        flights = self._flights.pop(uow, None)
        while flights:
            await self._commit(uow, flights)

    def _flights_of(self, uow: UnitOfWork) -> deque[_InFlight]:
        flights = self._flights.get(uow)
        if flights is None:
            flights = self._flights[uow] = deque()
            uow.before_flush(self.finish)
            # A unit of work that fails before its flush leaves its emails uncommitted: their
            # connections let them go (the server drops them; nothing was sent).
            weakref.finalize(uow, _abort_all, flights)
        return flights

    async def _commit(self, uow: UnitOfWork, flights: deque[_InFlight]) -> None:
        """The next email (or the next `unrecorded` ones, side by side) accepted and recorded."""
        group = [flights[n] for n in range(min(self._unrecorded, len(flights)))]
        try:
            prepared = [await flight.prepared for flight in group]
            async with self._commit_turn:
                for _ in group:
                    flights.popleft()
                deliveries = await asyncio.gather(*(p.commit() for p in prepared))
                for n, (flight, delivery) in enumerate(zip(group, deliveries, strict=True)):
                    await self._record(uow, flight, delivery, wait=n == len(group) - 1)
        except BaseException:
            _abort_all(flights)  # the unit of work fails: nothing after these is sent
            raise

    async def _record(
        self, uow: UnitOfWork, flight: _InFlight, delivery: Delivery, wait: bool = True
    ) -> None:
        email, at = flight.email, flight.at
        addressed = email.addressed
        now = datetime.now(UTC)
        EMAILS.attempted(addressed.kind, at.number)
        for outcome in decide_attempt(addressed, at, delivery, flight.subject, now, self._policy):
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
            await uow.emit(record, wait=wait)  # the last of a group waits for them all
            EMAILS.recorded(outcome)
