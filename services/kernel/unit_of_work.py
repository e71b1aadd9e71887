"""One PostgreSQL transaction in which events are applied and derived events appended to Kafka."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Container, Sequence
from typing import Any, cast

import asyncpg

from contracts import Envelope
from services.kernel import logs
from services.kernel.bulk_rows import CopyingConnection, RowFolder, copy_rows
from services.kernel.deferred_writes import DeferringConnection
from services.kernel.handlers import Handler, Handlers
from services.kernel.publisher import EventPublisher, WriteUnavailable
from services.kernel.store import Connection
from services.kernel.web.outages import DATABASE, outage

log = logging.getLogger(__name__)


class UnitOfWork:
    """Applies events through the service's handlers inside one transaction.

    Handlers of input events decide and `emit` derived events; handlers of the service's own
    events project them into read models. Everything a unit of work does commits together with
    the offsets that follow it, or not at all.
    """

    def __init__(
        self,
        conn: Connection,
        publisher: EventPublisher,
        handlers: Handlers,
        own_topic: str,
        already_in_log: Container[uuid.UUID] = frozenset(),
        deadline: float | None = None,
        folder: RowFolder | None = None,
    ) -> None:
        # `folder`, while catching up: projections' rows folded and sent by COPY (bulk_rows).
        self.conn = DeferringConnection(conn, folder)
        self._raw = conn
        self._folding = folder is not None
        # A request's: when its waiting must end (see run_unit_of_work); None for the consumer.
        self._deadline = deadline
        # The bound is for waiting (on a connection, a lock, Kafka), not for the request's own
        # work: the time spent on that (deciding and projecting 5,000 offers, say) moves the
        # deadline on (see `_kafka_deadline`).
        self._began = time.monotonic()
        self._waited = 0.0
        # While catching up, the ids further down our own log: a decision made again here
        # is not appended again; it is applied when the log reaches it.
        self._already_in_log = already_in_log
        self._publisher = publisher
        self._handlers = handlers
        self._own_topic = own_topic
        self._outbox: list[Envelope[Any]] = []
        self._earlier: list[asyncio.Future[Any]] = []
        # Last version of each of our aggregates this unit saw, written in one statement.
        self._versions: dict[uuid.UUID, int] = {}
        # Ids of this batch still to be applied, further down (see the consumer).
        self.ahead: set[uuid.UUID] = set()
        # Ids applied within this transaction: a derived event can also arrive from the log
        # in the same batch, and must not apply twice.
        self.seen: set[uuid.UUID] = set()
        # The events whose handlers run now, innermost last: what an emitted event answers.
        self._causes: list[uuid.UUID] = []
        # Emitted event id -> the event whose policy decided it (see `cause_headers`).
        self._answers: dict[uuid.UUID, uuid.UUID] = {}
        # What must be done before the commit (emails still on their way, say).
        self._before_flush: list[Callable[[UnitOfWork], Awaitable[None]]] = []

    def before_flush(self, step: Callable[[UnitOfWork], Awaitable[None]]) -> None:
        """Run `step` at the start of `flush`, before this unit's writes and events go."""
        self._before_flush.append(step)

    async def _run_before_flush(self) -> None:
        while self._before_flush:
            await self._before_flush.pop(0)(self)

    async def claim(self, event_id: uuid.UUID) -> bool:
        """Record that an event's effect is about to be applied; False if it already was.

        The insert waits for any other transaction holding the same id, so a request handler
        and the consumer never both apply one event.
        """
        if event_id in self.seen:
            return False
        claimed = bool(
            await self.conn.fetchval(
                "INSERT INTO applied_events (event_id) VALUES ($1) "
                "ON CONFLICT DO NOTHING RETURNING true",
                event_id,
            )
        )
        if claimed:
            self.seen.add(event_id)
        return claimed

    async def is_applied(self, event_id: uuid.UUID) -> bool:
        """Whether an event's effect is already here (its outcome, say, before acting again)."""
        if event_id in self.seen:
            return True
        return bool(
            await self.conn.fetchval(
                "SELECT true FROM applied_events WHERE event_id = $1", event_id
            )
        )

    def appears_later(self, event_id: uuid.UUID) -> bool:
        """Whether an event is further down the log than what is applied now: a decision once
        recorded under another id is then not made again under a new one."""
        return event_id in self._already_in_log or event_id in self.ahead

    async def apply(self, envelope: Envelope[Any], *, decide: bool = True) -> None:
        """Run the event's projections, then (unless `decide` is False: what it causes is
        already in our log) its policies."""
        payload_type = type(envelope.payload)
        if payload_type.topic == self._own_topic:
            stream, version = envelope.stream_id, envelope.stream_version
            self._versions[stream] = max(version, self._versions.get(stream, 0))
        handlers = (
            self._handlers.for_event(payload_type)
            if decide
            else self._handlers.projections_for(payload_type)
        )
        await self._run(envelope, handlers)

    async def decide_again(self, envelope: Envelope[Any]) -> None:
        """Only the event's policies, on an event applied already: for a policy added after
        it was applied (its projections ran then)."""
        await self._run(envelope, self._handlers.policies_for(type(envelope.payload)))

    async def _run(self, envelope: Envelope[Any], handlers: Sequence[Handler]) -> None:
        self._causes.append(envelope.event_id)
        try:
            with logs.about_event(envelope.event_id, envelope.event_type, envelope.correlation_id):
                for handler in handlers:
                    await handler(self, envelope)
        finally:
            self._causes.pop()

    async def lock_stream(self, stream_id: uuid.UUID) -> int:
        """Take the aggregate's lock until commit; returns its last version (0 if new).

        Every writer of one of our aggregates takes this lock before deciding, so decisions
        on one aggregate are made one at a time, in the order they reach the log.
        """
        await self._write_versions()
        waiting = time.monotonic()
        await self.conn.execute(
            "INSERT INTO stream_versions (stream_id, version) VALUES ($1, 0) "
            "ON CONFLICT DO NOTHING",
            stream_id,
        )
        version: int = await self.conn.fetchval(
            "SELECT version FROM stream_versions WHERE stream_id = $1 FOR UPDATE", stream_id
        )
        self._waited += time.monotonic() - waiting
        return version

    async def lock_key(self, key: str, *, shared: bool = False) -> None:
        """Take a lock on `key` (any text) until commit, held across every instance of the
        service: for a decision that reads several aggregates (a learner's holdings across
        badges), so that two of them made at once, on different instances or partitions, are
        made one after the other and the second sees the first. `shared` locks wait only for
        the exclusive ones (and those for them)."""
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        waiting = time.monotonic()
        await self.conn.execute(f"SELECT {function}(hashtextextended($1, 0))", key)
        self._waited += time.monotonic() - waiting

    async def emit(self, envelope: Envelope[Any], *, wait: bool = False) -> bool:
        """Apply a new event here and append it to its topic. False if it was already applied.

        Events go out in the order they were emitted, a cause before the events its handler
        derives, and only after the state change succeeded; `flush` sends them and waits for
        Kafka before the transaction commits (`wait` does so at once, for effects outside such
        as an email). A crash between the send and the commit leaves the event in the log
        unapplied; the consumer applies it from there, deduplicated by its id.
        """
        if (
            envelope.event_id in self._already_in_log
            or envelope.event_id in self.ahead
            or not await self.claim(envelope.event_id)
        ):
            return False
        # Sent by an earlier try of this decision (one that gave up, or rolled back): that
        # one is in the log, or on its way there. Apply it, not this one (a retry's event can
        # differ, in its time say, and a rebuild applies the first in the log), and wait for
        # it as for our own.
        earlier = self._publisher.recently_appended(envelope.event_id)
        if earlier is None:
            self._outbox.append(envelope)
            if self._causes:
                self._answers[envelope.event_id] = self._causes[-1]
        else:
            envelope, delivery = earlier
            self._earlier.append(delivery)
        await self.apply(envelope)
        if wait:
            await self._send_outbox(final=False)
        return True

    @property
    def cause_now(self) -> uuid.UUID | None:
        """The event whose handlers run now (what an event emitted now answers), if any."""
        return self._causes[-1] if self._causes else None

    def appender(self) -> AppendAhead:
        """Appends events to Kafka at once and waits for them, before they are applied here:
        for the records of effects outside that must be in the log before the next effect is
        made (an email's, before the next email goes), appended while this unit's connection
        does other work. `emit` applies them later and finds them appended (nothing is sent
        twice). Each goes with the id of the event it answers (see `cause_headers`). It holds
        no reference to the unit of work."""
        publisher, deadline = self._publisher, self._deadline

        async def append(events: Sequence[tuple[Envelope[Any], uuid.UUID | None]]) -> None:
            headers = {
                event.event_id: [(CAUSE_ID, str(cause).encode())]
                for event, cause in events
                if cause is not None
            }
            await publisher.append([event for event, _ in events], deadline, (), headers)

        return append

    async def _send_outbox(self, *, final: bool) -> None:
        outbox, self._outbox = self._outbox, []
        earlier, self._earlier = self._earlier, []
        headers = cause_headers(outbox, self._answers, final=final)
        # Bounded: if Kafka takes nothing for a while this raises, and the transaction (with
        # its locks and its connection) is let go instead of waiting for the broker. The
        # request's deadline stands: its waits for a connection and for locks ended
        # KAFKA_SHARE before it (see run_unit_of_work), so Kafka has that time of its own.
        waiting = time.monotonic()
        try:
            await self._publisher.append(outbox, self._kafka_deadline(), earlier, headers)
        finally:
            self._waited += time.monotonic() - waiting

    def _kafka_deadline(self) -> float | None:
        """The request's deadline, moved on by the time it spent working rather than waiting.

        Waits (for the aggregate's lock, a playlist's lock, Kafka's earlier acknowledgements)
        use up the bound; the unit's own work does not: a bulk issue that takes longer than
        the bound to decide and project its offers (thousands of them, on a busy machine)
        still gives Kafka its share, instead of giving up before Kafka was even asked, and
        calling a healthy cluster unreachable. A short write ends where it always did."""
        if self._deadline is None:
            return None
        worked = time.monotonic() - self._began - self._waited
        return self._deadline + max(0.0, worked)

    async def _write_versions(self) -> None:
        if not self._versions:
            return
        versions, self._versions = self._versions, {}
        if self._folding:
            # Catching up: new streams by COPY; if one is there already, as below.
            await self.conn.flush()
            if await copy_rows(
                cast(CopyingConnection, self._raw),
                "stream_versions",
                list(versions.items()),
                ("stream_id", "version"),
            ):
                return
        await self.conn.execute(
            "INSERT INTO stream_versions (stream_id, version) "
            "SELECT * FROM unnest($1::uuid[], $2::int[]) "
            "ON CONFLICT (stream_id) DO UPDATE "
            "SET version = GREATEST(stream_versions.version, EXCLUDED.version)",
            list(versions),
            list(versions.values()),
        )

    async def flush(self) -> None:
        """Send held writes and wait until every emitted event is in Kafka."""
        await self._run_before_flush()
        await self._write_versions()
        await self.conn.flush()
        await self._send_outbox(final=True)


# Appends (event, the id of the event it answers) pairs and waits until Kafka has them.
AppendAhead = Callable[[Sequence[tuple[Envelope[Any], uuid.UUID | None]]], Awaitable[None]]

# Headers of a derived event that say which decision it belongs to, so that a replay can tell
# an input already answered in its own log from one still to decide, without decoding it:
# CAUSE_ID is the id of the event whose policy emitted it; CAUSE_EVENTS, only on the events a
# unit of work appends last (when it commits), how many of those that cause has. Earlier
# appends of the unit (an email's record, sent before the next email) were acknowledged
# before the last ones were sent: once every event of the last append is in the log, so is
# everything the decision emitted.
CAUSE_ID = "cause_id"
CAUSE_EVENTS = "cause_events"


def cause_headers(
    outbox: list[Envelope[Any]], answers: dict[uuid.UUID, uuid.UUID], *, final: bool
) -> dict[uuid.UUID, list[tuple[str, bytes]]]:
    """Per emitted event id, its cause headers (none for an event no event caused)."""
    causes = {e.event_id: answers.pop(e.event_id) for e in outbox if e.event_id in answers}
    counts: dict[uuid.UUID, int] = {}
    for cause in causes.values():
        counts[cause] = counts.get(cause, 0) + 1
    found: dict[uuid.UUID, list[tuple[str, bytes]]] = {}
    for event_id, cause in causes.items():
        headers = [(CAUSE_ID, str(cause).encode())]
        if final:
            headers.append((CAUSE_EVENTS, str(counts[cause]).encode()))
        found[event_id] = headers
    return found


async def run_unit_of_work(
    pool: asyncpg.Pool,
    publisher: EventPublisher,
    handlers: Handlers,
    own_topic: str,
    work: Callable[[UnitOfWork], Awaitable[Any]],
) -> Any:
    """Run `work` in a transaction; its emitted events are in Kafka before the commit.

    Every wait on the way is bounded by the publisher's write timeout: for a connection of
    the writers' pool, for an aggregate's lock (held, perhaps, by a write that waits on
    Kafka) and for Kafka itself. Past it the request gets WriteUnavailable (503) and its
    transaction rolls back, so a retry starts from nothing done.
    """
    publisher.check_reachable()
    bound = publisher.write_timeout
    retry_after = max(1, round(bound))
    # One bound for all the waiting before Kafka acknowledges anything of this write. The
    # waits for a connection and for locks end Kafka's share before it, so a write that took
    # a lock late still gives Kafka a moment, and one that cannot reach Kafka answers when
    # the bound is up, not a moment after it.
    deadline = time.monotonic() + bound
    waits_end = deadline - kafka_share(bound)
    try:
        conn = await pool.acquire(timeout=max(0.001, waits_end - time.monotonic()))
    except TimeoutError as error:
        raise WriteUnavailable(
            "too many changes are waiting; nothing was changed, try again shortly", retry_after
        ) from error
    except Exception as error:
        if _database_unreachable(error):
            raise WriteUnavailable(DATABASE_DOWN, retry_after) from error
        raise
    try:
        async with conn.transaction():
            left_ms = max(1, int((waits_end - time.monotonic()) * 1000))
            await conn.execute(f"SET LOCAL lock_timeout = '{left_ms}ms'")
            uow = UnitOfWork(conn, publisher, handlers, own_topic, deadline=deadline)
            result = await work(uow)
            await uow.flush()
            return result
    except (asyncpg.LockNotAvailableError, asyncpg.DeadlockDetectedError) as error:
        # Rolled back whole (a deadlock's victim too): nothing changed, a retry is safe.
        raise WriteUnavailable(
            "another change to the same thing is still waiting; nothing was changed, "
            "try again shortly",
            retry_after,
        ) from error
    except Exception as error:
        # Lost mid-way: the commit may not have happened. Events already in Kafka are applied
        # by the consumer; a retry with the same Idempotency-Key finds them and adds nothing.
        if _database_unreachable(error):
            raise WriteUnavailable(DATABASE_DOWN, retry_after) from error
        raise
    finally:
        await _give_back(pool, conn)


async def _give_back(pool: asyncpg.Pool, conn: asyncpg.pool.PoolConnectionProxy) -> None:
    """Return the connection to the pool. A connection that died under the write fails its
    reset there; asyncpg then closes it, and its error tells nothing of the write, whose
    outcome (committed, or refused and rolled back) was decided above and stands."""
    try:
        await pool.release(conn)
    except Exception as error:
        # The outage itself is told once, by the answer to the write.
        level = logging.INFO if outage(error) else logging.WARNING
        log.log(level, "a write's connection was closed instead of pooled again: %r", error)


DATABASE_DOWN = "the database is unreachable; try again shortly"


def kafka_share(bound: float) -> float:
    """The part of a write's bound kept for Kafka: its acknowledgement takes milliseconds
    when it is there (half a second, or a quarter of a short bound)."""
    return min(0.5, bound / 4)


def _database_unreachable(error: BaseException) -> bool:
    """PostgreSQL cannot be reached, in any of its shapes (see outages.outage). A write
    refused already (Kafka did not take it, say) is told as it is."""
    return not isinstance(error, WriteUnavailable) and outage(error) == DATABASE
