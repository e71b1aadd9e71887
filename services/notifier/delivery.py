"""One attempt to mail one email, and its record in the log: EmailSent, EmailFailed, or
EmailDeferred (it waits in the retry schedule while the other emails go on).

Several emails travel at once (NOTIFIER_SMTP_CONNECTIONS), but the server accepts them one at
a time: each email's last line goes only once the record of the one before is acknowledged by
Kafka. A crash or a retried batch finds the records there and does not mail again; the only
window for a duplicate is between the SMTP server accepting a message and Kafka acknowledging
its record, and it holds one message at most.

That chain (last line, server's answer, record, Kafka's acknowledgement) is all that goes one
at a time, and it runs by itself: a unit of work's committer commits and records its emails as
soon as they are prepared, while the unit goes on deciding, reading and rendering the next
ones. The committer touches no database; the unit applies the records (its PostgreSQL side)
when it next comes by, and before it commits.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
import weakref
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, Protocol, cast

from contracts import Envelope, new_envelope
from contracts.notifier import EmailKind
from services.kernel.unit_of_work import AppendAhead, UnitOfWork
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
    # Reads what the message needs in the unit's transaction and gives its rendering, which
    # touches no connection: it goes on (in a worker) while the unit decides the next email.
    # None: `render` is awaited in the unit, as it may read.
    read: Callable[[], Awaitable[Callable[[], Awaitable[EmailMessage]]]] | None = None


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
    email_id: uuid.UUID
    at: Attempt
    cause: uuid.UUID | None  # the event it answers, for its record's headers
    # Set once it is recorded, or let go without being committed.
    settled: asyncio.Event
    # Rendered (unless it was before) and prepared; its subject known once rendered.
    prepared: asyncio.Task[PreparedMessage] = field(init=False)
    subject: str = ""

    def abort(self) -> None:
        if not self.prepared.done():
            self.prepared.cancel()
        elif not self.prepared.cancelled() and self.prepared.exception() is None:
            self.prepared.result().abort()
        self.settled.set()


@dataclass
class _Line:
    """One unit of work's emails on their way, in order, and its committer."""

    append: AppendAhead
    flights: deque[_InFlight]
    # Records in Kafka, still to be applied in the unit of work.
    recorded: list[Envelope[Any]]
    # Set each time the committer records a group, and when it ends.
    moved: asyncio.Event
    # Set when there is more to commit, or the unit of work is finishing or gone.
    more: asyncio.Event
    committer: asyncio.Task[None] | None = None
    finishing: bool = False
    closed: bool = False
    failure: BaseException | None = None

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure


class Courier:
    """Makes attempts and records them. With more than one connection, a unit of work's
    emails are prepared side by side and committed in order, one at a time, each recorded in
    Kafka before the next is committed, by a committer of the unit's own; the last are
    committed before the unit of work commits (its flush)."""

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
        # One message at a time between the server accepting it and Kafka its record, across
        # every unit of work (the consumer's and the retry schedule's).
        self._commit_turn = asyncio.Lock()
        self._lines: weakref.WeakKeyDictionary[UnitOfWork, _Line] = weakref.WeakKeyDictionary()
        # Every email on its way, in whichever unit of work: one decided again elsewhere (a
        # batch tried again while the failed try's committer still holds it) waits for it.
        self._on_way: dict[uuid.UUID, _InFlight] = {}

    async def attempt(self, uow: UnitOfWork, email: Email, at: Attempt) -> None:
        addressed = email.addressed
        email_id = addressed.email_id
        line = self._line_of(uow)
        await self._apply_recorded(uow, line)
        if any(flight.email_id == email_id for flight in line.flights):
            await self.finish(uow)  # the same email, decided again: it is on its way
            return
        elsewhere = self._on_way.get(email_id)
        if elsewhere is not None:
            await elsewhere.settled.wait()  # recorded there (found below), or let go
        for earlier_id in (email_id, deferral_id(email_id, at.number)):
            earlier = self._recorded.get(earlier_id)
            if earlier is not None:
                await uow.emit(earlier, wait=True)  # decided in an earlier try of this unit
                return
        cause = uow.cause_now
        read = email.composed.read
        rendering = await read() if read is not None else None
        message = await email.composed.render() if rendering is None else None
        while len(line.flights) >= self._connections:
            await self._moved(line)
            await self._apply_recorded(uow, line)
        flight = _InFlight(email, email_id, at, cause, asyncio.Event())
        flight.prepared = asyncio.create_task(
            self._rendered_and_prepared(flight, message, rendering), name=f"email-{email_id}"
        )
        line.flights.append(flight)
        self._on_way[email_id] = flight
        line.more.set()
        if self._connections == 1:
            while line.flights:
                await self._moved(line)
            await self._apply_recorded(uow, line)

    async def _rendered_and_prepared(
        self,
        flight: _InFlight,
        message: EmailMessage | None,
        rendering: Callable[[], Awaitable[EmailMessage]] | None,
    ) -> PreparedMessage:
        if message is None:
            assert rendering is not None
            message = await rendering()
        flight.subject = str(message["Subject"])
        return await self._prepare(message)

    async def finish(self, uow: UnitOfWork) -> None:
        """Commit and record every email of this unit of work still on its way, and apply
        their records here."""
        line = self._lines.pop(uow, None)
        if line is None:
            return
        line.finishing = True
        line.more.set()
        if line.committer is not None:
            await line.committer
        await self._apply_recorded(uow, line)

    def _line_of(self, uow: UnitOfWork) -> _Line:
        line = self._lines.get(uow)
        if line is None:
            line = _Line(uow.appender(), deque(), [], asyncio.Event(), asyncio.Event())
            self._lines[uow] = line
            uow.before_flush(self.finish)
            # A unit of work that fails before its flush leaves its emails uncommitted: their
            # connections let them go (the server drops them; nothing was sent).
            weakref.finalize(uow, self._close, line)
            line.committer = asyncio.create_task(self._commit_line(line), name="email-committer")
        return line

    async def _moved(self, line: _Line) -> None:
        """Until the committer records its next group (or fails: its error is the unit's)."""
        line.raise_failure()
        line.moved.clear()
        await line.moved.wait()
        line.raise_failure()

    async def _apply_recorded(self, uow: UnitOfWork, line: _Line) -> None:
        """The records the committer put in Kafka, applied in the unit of work (found there,
        not sent again)."""
        while line.recorded:
            await uow.emit(line.recorded.pop(0))
        line.raise_failure()

    async def _commit_line(self, line: _Line) -> None:
        """The unit of work's emails, in order: the next (or the next `unrecorded`, side by
        side) accepted and recorded in Kafka, then the next."""
        try:
            while not line.closed:
                if not line.flights:
                    if line.finishing:
                        return
                    line.more.clear()
                    await line.more.wait()
                    continue
                # The next email, and those after it already prepared (up to `unrecorded`):
                # a group waits for no message still on its way.
                group = [line.flights[0]]
                await group[0].prepared
                for flight in itertools.islice(line.flights, 1, self._unrecorded):
                    if not flight.prepared.done():
                        break
                    group.append(flight)
                prepared = [flight.prepared.result() for flight in group]
                async with self._commit_turn:
                    if line.closed:
                        return
                    if len(prepared) == 1:  # (gather would make it a task: a turn of the loop)
                        deliveries = [await prepared[0].commit()]
                    else:
                        deliveries = await asyncio.gather(*(p.commit() for p in prepared))
                    records = [
                        (record, flight.cause)
                        for flight, delivery in zip(group, deliveries, strict=True)
                        for record in self._records(flight, delivery)
                    ]
                    self._begin_transfers(line, after=len(group))
                    await line.append(records)
                for flight in group:
                    line.flights.popleft()
                    self._settled(flight)
                for record, _ in records:
                    EMAILS.recorded(record.payload)
                    line.recorded.append(record)
                line.moved.set()
        except Exception as error:
            line.failure = error  # the unit of work fails: nothing after these is sent
        finally:
            while line.flights:
                flight = line.flights.popleft()
                flight.abort()
                self._settled(flight)
            line.moved.set()

    def _begin_transfers(self, line: _Line, after: int) -> None:
        """The next group's messages go to the server while Kafka acknowledges this one's
        records (the server takes them in then, not while their last lines wait)."""
        for flight in itertools.islice(line.flights, after, after + self._unrecorded):
            task = flight.prepared
            if not task.done() or task.cancelled() or task.exception() is not None:
                break
            begin = getattr(task.result(), "begin_transfer", None)
            if begin is not None:
                begin()

    def _close(self, line: _Line) -> None:
        """The unit of work is gone without finishing: nothing more of it is committed."""
        line.closed = True
        while line.flights:
            flight = line.flights.popleft()
            flight.abort()
            self._settled(flight)
        line.more.set()

    def _settled(self, flight: _InFlight) -> None:
        flight.settled.set()
        if self._on_way.get(flight.email_id) is flight:
            del self._on_way[flight.email_id]

    def _records(self, flight: _InFlight, delivery: Delivery) -> list[Envelope[Any]]:
        email, at = flight.email, flight.at
        addressed = email.addressed
        now = datetime.now(UTC)
        EMAILS.attempted(addressed.kind, at.number)
        records = []
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
            records.append(record)
        return records
