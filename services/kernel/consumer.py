"""Consumes event topics into a service's schema with exactly-once effects.

Each batch of records is applied in one PostgreSQL transaction together with the offsets that
follow it; on (re)assignment the consumer seeks to those stored offsets, so Kafka's own
committed offsets are never used. A record that cannot be decoded, or whose handler keeps
failing, goes to the service's dead-letter topic with the error, and consumption goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import itertools
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Container, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

import contracts
from contracts import Envelope, Event, decode
from services.kernel.bulk_rows import CopyingConnection, RowFolder, Table, Upsert, copy_rows
from services.kernel.bulk_rows import tables_of_schema as folding_tables
from services.kernel.handlers import Handlers
from services.kernel.metrics import METRICS
from services.kernel.progress import ReplayProgress
from services.kernel.publisher import EventPublisher, WriteUnavailable
from services.kernel.store import Connection
from services.kernel.unit_of_work import CAUSE_EVENTS, CAUSE_ID, UnitOfWork
from services.kernel.web.outages import outage

log = logging.getLogger(__name__)

# Failures that say nothing about the record itself: wait and try the same records again.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    KafkaError,
    asyncpg.InterfaceError,
    # Kafka took no derived event in time: the batch rolled back, its locks let go.
    WriteUnavailable,
)
# PostgreSQL error classes of the same kind: connection (08), transaction rollback (40),
# insufficient resources (53), operator intervention (57), system error (58).
TRANSIENT_SQLSTATE_CLASSES = {"08", "40", "53", "57", "58"}


def is_transient(error: BaseException) -> bool:
    # outage(): PostgreSQL or Kafka gone in any shape, such as a connection's failed reset
    # raised over the error of the connection lost mid-batch.
    if isinstance(error, TRANSIENT_ERRORS) or outage(error) is not None:
        return True
    sqlstate = getattr(error, "sqlstate", None)
    return (
        isinstance(error, asyncpg.PostgresError) and str(sqlstate)[:2] in TRANSIENT_SQLSTATE_CLASSES
    )


HANDLER_ATTEMPTS = 3

# This process, as the offset rows name the instance that owns a partition ("host:pid", and
# "host:pid/2" for a second consumer of the same service in one process, as in tests).
INSTANCE = f"{socket.gethostname()}:{os.getpid()}"
_consumers_made = itertools.count(1)

# One partition's records, fetched (or kept) to be applied together.
Batch = tuple[TopicPartition, list[ConsumerRecord[Any, Any]]]


@dataclass(frozen=True)
class ConsumerConfig:
    group_id: str
    bootstrap_servers: str
    # Namespaced topic name -> contract topic name ("t1.badge.events" -> "badge.events").
    contract_topic_of: dict[str, str]
    own_topic: str  # namespaced
    input_topics: tuple[str, ...]  # namespaced
    dead_letter_topic: str
    max_batch: int = 500
    # Records per transaction while catching up (a rebuild, a start): larger batches are
    # written in fewer, larger statements.
    catch_up_batch: int = 5_000
    # Catching up on our own log reads it ahead for its ids first; up to this many bytes of
    # records are kept from that read and applied from memory, not fetched a second time.
    keep_ahead_bytes: int = 256 * 1024 * 1024


class EventConsumer:
    def __init__(
        self,
        config: ConsumerConfig,
        pool: asyncpg.Pool,
        publisher: EventPublisher,
        handlers: Handlers,
    ) -> None:
        self.config = config
        self._pool = pool
        self._publisher = publisher
        self._handlers = handlers
        self._own_contract_topic = config.contract_topic_of[config.own_topic]
        self.applied = 0
        self.dead_lettered = 0
        # Held while records are applied. A rebalance runs in the consumer's own task and
        # seeks to the stored offsets: it must wait for the batch in flight to commit, or it
        # would seek back before it and hand out the same records again.
        self.applying = asyncio.Lock()
        self._already_in_log = IdsInLog()
        # Ids (as their header bytes) of the events whose decisions are all in our own log,
        # from our derived events' cause headers: their policies are not run again.
        self._answered: set[bytes] = set()
        # Set by a rebuild (see DecidedBefore): what the service had decided before.
        self.decided = DecidedBefore()
        number = next(_consumers_made)
        self.instance = INSTANCE if number == 1 else f"{INSTANCE}/{number}"
        self._model_of: dict[bytes, type[Event]] = {
            name.encode(): model for name, model in contracts.registry().items()
        }
        # Per type header: what `_sort` makes of it (see `_kind_of`).
        self._kinds: dict[bytes, tuple[str | None, bool, bool, bool]] = {}
        # The main loop's Kafka consumer, for the partitions it owns and their end offsets.
        self._main: AIOKafkaConsumer | None = None
        # Catching up's, started once and kept: a Kafka client starts by fetching the metadata
        # of every topic in the cluster, which takes long on a cluster of thousands.
        self._catch_up_consumer: AIOKafkaConsumer | None = None
        # While catching up: the schema's tables, for folding projections' rows into COPYs.
        self._folding: dict[str, Table] | None = None
        self._parsed: dict[str, Upsert | None] = {}
        METRICS.name_topics(config.contract_topic_of)

    # -- catching up -------------------------------------------------------------------------

    async def catch_up(
        self,
        topics: Sequence[str],
        until: dict[TopicPartition, int] | None = None,
        progress: ReplayProgress | None = None,
    ) -> int:
        """Apply `topics` from the stored offsets up to their current end, then return.

        Run on the service's own topic before anything else, so that its state knows every
        decision it already made before it decides again on its inputs. `until` stops each
        partition at an offset (verify replays inputs only as far as the live service has).
        `progress` is told the position of every partition as it goes.
        """
        if not topics:
            return 0  # a service without inputs
        consumer = await self._catch_up_client()
        records_seen = 0
        _pause_collector()
        try:
            async with self._pool.acquire() as conn:
                self._folding = await folding_tables(conn)
            partitions = [
                TopicPartition(topic, partition)
                for topic in topics
                for partition in await self._publisher.partitions_for(topic)
            ]
            consumer.assign(partitions)
            await self._seek_to_stored(consumer, partitions)
            end = await consumer.end_offsets(partitions)
            if until is not None:
                # A partition `until` does not name was not read at all by whoever set it.
                end = {tp: min(offset, until.get(tp, 0)) for tp, offset in end.items()}
            METRICS.replay_begins(end)
            kept: list[Batch] | None = None
            if self.config.own_topic in topics:
                start = {tp: await consumer.position(tp) for tp in partitions}
                self._already_in_log, answered, kept = await self._ids_ahead(consumer, end)
                self._answered |= answered
                gc.freeze()  # the records kept live through the catch-up: see _pause_collector
                if kept is None:
                    await self._seek_to_stored(consumer, partitions)
            if progress is not None:
                progress.begin(
                    start
                    if kept is not None
                    else {tp: await consumer.position(tp) for tp in partitions},
                    {tp: end[tp] for tp in partitions},
                )
            # One batch is applied while the next is fetched and sorted: the Python work of
            # one beside the PostgreSQL work of the other.
            applying: asyncio.Task[int] | None = None
            try:
                # What was read ahead, else read now (it did not fit); either way only what
                # existed when catching up began: later records are the main loop's job.
                batches = (
                    _each(kept)
                    if kept is not None
                    else _read_up_to(consumer, end, self.config.catch_up_batch)
                )
                async for tp, records in batches:
                    sorted_ = await self._sort_between(records)
                    records_seen += await applying if applying is not None else 0
                    applying = asyncio.create_task(
                        self._catch_up_on(tp, records, progress, sorted_)
                    )
                records_seen += await applying if applying is not None else 0
                applying = None
            finally:
                if applying is not None and not applying.done():
                    applying.cancel()
                    with contextlib.suppress(BaseException):
                        await applying
            if progress is not None:
                progress.done()
        except BaseException:
            # Whatever it was (Kafka gone, a cancel), the next catch-up starts a new client.
            self._catch_up_consumer = None
            with contextlib.suppress(Exception):
                await consumer.stop()
            raise
        finally:
            METRICS.replay_ends()
            self._already_in_log = IdsInLog()
            self._folding = None
            _resume_collector()
        return records_seen

    async def _catch_up_on(
        self,
        tp: TopicPartition,
        records: list[ConsumerRecord[Any, Any]],
        progress: ReplayProgress | None,
        sorted_: _Sorted,
    ) -> int:
        if not records:
            return 0
        await self.process(records, sorted_=sorted_, fold=True)
        METRICS.replayed_up_to(tp, len(records), records[-1].offset + 1)
        if progress is not None:
            progress.reached(tp, records[-1].offset + 1, len(records))
        _collect_after_batch()
        return len(records)

    async def _catch_up_client(self) -> AIOKafkaConsumer:
        if self._catch_up_consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.config.bootstrap_servers,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_partition_fetch_bytes=4 * 1024 * 1024,
            )
            await consumer.start()
            self._catch_up_consumer = consumer
        return self._catch_up_consumer

    async def decided_before(self, offsets: dict[tuple[str, int], int]) -> DecidedBefore:
        """What the service decided up to its stored `offsets`: every record below them but
        the ones it dead-lettered (read from its dead-letter topic's headers)."""
        if not offsets:
            return DecidedBefore()
        end = await self.log_end(self.config.dead_letter_topic)
        if not any(end.values()):
            # None at all, as usual: no reading (a fetch already asked for would hold a new
            # assignment up to its wait, half a second).
            return DecidedBefore(offsets)
        consumer = await self._catch_up_client()
        consumer.assign(list(end))
        await consumer.seek_to_beginning(*end)
        group = self.config.group_id.encode()
        dead: set[tuple[str, int, int]] = set()
        async for _, records in _read_up_to(consumer, end):
            for record in records:
                headers = dict(record.headers or ())
                if headers.get("consumer.group") != group:
                    continue
                with contextlib.suppress(KeyError, ValueError):
                    dead.add(
                        (
                            headers["source.topic"].decode(),
                            int(headers["source.partition"]),
                            int(headers["source.offset"]),
                        )
                    )
        return DecidedBefore(offsets, frozenset(dead))

    async def applied_of_types(
        self, topics: Sequence[str], event_types: Collection[str]
    ) -> AsyncIterator[Envelope[Any]]:
        """The events of `event_types` on `topics` that the service has applied already (below
        its stored offsets), decoded, each partition in its order. A record it dead-lettered
        when it read it (undecodable, or its handlers kept failing) changed nothing then and
        is passed over here: its policies alone would decide on state its projections never
        made. (A rebuild applies such a record anew, projections and policies together.)"""
        applied = {
            tp: offset
            for tp, offset in (await self.stored_offsets()).items()
            if tp.topic in topics and offset > 0
        }
        if not applied:
            return
        decided = await self.decided_before(
            {(tp.topic, tp.partition): o for tp, o in applied.items()}
        )
        wanted = {name.encode() for name in event_types}
        consumer = await self._catch_up_client()
        consumer.assign(list(applied))
        await consumer.seek_to_beginning(*applied)
        # Past the stored offsets: not applied yet, the consumer decides those in full.
        async for _, records in _read_up_to(consumer, applied):
            for record in records:
                event_type = dict(record.headers or ()).get("event_type")
                if event_type is not None and event_type not in wanted:
                    continue
                if not decided.covers(record):
                    continue  # dead-lettered when it was read
                try:
                    envelope = decode(record.value or b"")
                except ValueError:
                    continue
                if envelope.event_type in event_types:
                    yield envelope

    async def log_end(self, topic: str) -> dict[TopicPartition, int]:
        """The end offset of each of the topic's partitions (nothing is read)."""
        consumer = await self._catch_up_client()
        partitions = [TopicPartition(topic, p) for p in await self._publisher.partitions_for(topic)]
        end: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        return end

    async def close(self) -> None:
        """Stop the catching-up client (the main loop stops its own when cancelled)."""
        consumer, self._catch_up_consumer = self._catch_up_consumer, None
        if consumer is not None:
            await consumer.stop()

    async def _ids_ahead(
        self,
        consumer: AIOKafkaConsumer,
        end: dict[TopicPartition, int],
    ) -> tuple[IdsInLog, set[bytes], list[Batch] | None]:
        """The ids of the events between the stored offsets and the end, read from headers;
        the ids of the events they answer in full (see unit_of_work.cause_headers); and the
        records read, in the order read, when they fit in `keep_ahead_bytes` (else None)."""
        ids: set[bytes] = set()  # as the headers (and the publisher) write them
        derived: dict[bytes, int] = {}  # cause -> its derived events found
        expected: dict[bytes, int] = {}  # cause -> how many its last append had
        kept: list[Batch] | None = []
        kept_bytes = 0
        filling: dict[TopicPartition, list[ConsumerRecord[Any, Any]]] = {}
        async for tp, records in _read_up_to(consumer, end, self.config.catch_up_batch):
            if kept is not None and records:
                kept_bytes += sum(len(r.value or b"") for r in records)
                if kept_bytes > self.config.keep_ahead_bytes:
                    kept = None  # too much to hold: read again after this
                else:
                    # Fetches come a few hundred records at a time: applied in batches
                    # of up to catch_up_batch, a transaction each.
                    chunk = filling.setdefault(tp, [])
                    chunk.extend(records)
                    if len(chunk) >= self.config.catch_up_batch:
                        kept.append((tp, filling.pop(tp)))
            for record in records:
                headers = dict(record.headers or ())
                header = headers.get("event_id")
                if header is not None:
                    event_id = header
                else:
                    try:
                        event_id = str(decode(record.value or b"").event_id).encode()
                    except ValueError:
                        continue
                if event_id in ids:
                    continue  # the same event twice: counted once
                ids.add(event_id)
                cause = headers.get(CAUSE_ID)
                count = headers.get(CAUSE_EVENTS)
                if cause is not None and count is not None:
                    derived[cause] = derived.get(cause, 0) + 1
                    with contextlib.suppress(ValueError):
                        expected[cause] = int(count)
        if kept is not None:
            kept.extend(filling.items())
        answered = {cause for cause, n in derived.items() if n >= expected.get(cause, n + 1)}
        return IdsInLog(frozenset(ids)), answered, kept

    # -- the main loop -----------------------------------------------------------------------

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.config.bootstrap_servers,
            group_id=self.config.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await consumer.start()
        self._main = consumer
        # What catching up found answered was for the records it read; the main loop decides.
        self._answered = set()
        try:
            consumer.subscribe(
                [self.config.own_topic, *self.config.input_topics],
                listener=_SeekToStoredOffsets(self, consumer),
            )
            while True:
                batches = await consumer.getmany(
                    timeout_ms=1_000, max_records=self.config.max_batch
                )
                for tp, records in batches.items():
                    # Fetched before a rebalance took the partition away: its new owner
                    # applies them (from the offset stored in PostgreSQL), not this instance.
                    await self.process(records, owned=functools.partial(_owns, consumer, tp))
        finally:
            self._main = None
            await consumer.stop()

    async def progress(self) -> list[dict[str, Any]]:
        """Per partition: the next offset to apply and when it was stored (from PostgreSQL,
        so it survives restarts), the partition's end as Kafka last told this consumer, and
        the lag between them (None where the end is not known yet)."""
        async with self._pool.acquire(timeout=2) as conn:
            rows = await conn.fetch(
                "SELECT topic, partition, next_offset, applied_at, owner, "
                "extract(epoch FROM now() - applied_at) AS age FROM consumer_offsets "
                "ORDER BY topic, partition"
            )
        stored = {(row["topic"], row["partition"]): row for row in rows}
        main = self._main
        owned = sorted(main.assignment(), key=lambda tp: (tp.topic, tp.partition)) if main else []
        keys = sorted(set(stored) | {(tp.topic, tp.partition) for tp in owned})
        found = []
        for topic, partition in keys:
            row = stored.get((topic, partition))
            next_offset = row["next_offset"] if row else 0
            tp = TopicPartition(topic, partition)
            # Known only for partitions this consumer owns (and has fetched from).
            end = main.highwater(tp) if main is not None and tp in owned else None
            found.append(
                {
                    "topic": topic,
                    "partition": partition,
                    "next_offset": next_offset,
                    "end_offset": end,
                    "lag": max(0, end - next_offset) if end is not None else None,
                    "owned": tp in owned,
                    # The instance that last took the partition ("host:pid").
                    "owner": row["owner"] if row else None,
                    "last_applied_at": row["applied_at"].isoformat()
                    if row and row["applied_at"]
                    else None,
                    "last_applied_age_seconds": round(float(row["age"]), 1)
                    if row and row["age"] is not None
                    else None,
                }
            )
        return found

    async def _claim_partitions(self, partitions: Sequence[TopicPartition]) -> None:
        """Give each partition gained an offset row (from 0 when it has none) naming this
        instance. Every batch locks its partition's row before it reads the stored offset,
        so two instances that both hold a partition for a moment (one not yet told it lost
        it) take turns, and the second applies only what the first did not."""
        if not partitions:
            return
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO consumer_offsets (topic, partition, next_offset, owner) "
                "SELECT t, p, 0, $3 FROM unnest($1::text[], $2::int[]) AS x(t, p) "
                "ON CONFLICT (topic, partition) DO UPDATE SET owner = EXCLUDED.owner",
                [tp.topic for tp in partitions],
                [tp.partition for tp in partitions],
                self.instance,
            )

    async def stored_offsets(self) -> dict[TopicPartition, int]:
        """The next offset to apply of every partition the service has applied any of."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch("SELECT topic, partition, next_offset FROM consumer_offsets")
        return {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}

    async def _seek_to_stored(
        self, consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition]
    ) -> None:
        stored = await self.stored_offsets()
        for tp in partitions:
            if tp in stored:
                consumer.seek(tp, stored[tp])
            else:
                await consumer.seek_to_beginning(tp)

    # -- applying records --------------------------------------------------------------------

    async def process(
        self,
        records: Sequence[ConsumerRecord[Any, Any]],
        owned: Callable[[], bool] | None = None,
        sorted_: _Sorted | None = None,
        fold: bool = False,
    ) -> None:
        """Apply one partition's records, retrying transient failures until they pass; none
        of them once `owned` says the partition is no longer this instance's. `sorted_` is
        what `_sort` made of the records, if it ran already; `fold` (catching up) writes
        their rows by COPY (see bulk_rows)."""
        async with self.applying:
            if owned is None or owned():
                await self._process(records, sorted_, fold)

    async def _process(
        self,
        records: Sequence[ConsumerRecord[Any, Any]],
        sorted_: _Sorted | None = None,
        fold: bool = False,
    ) -> None:
        delay = 0.5
        while True:
            try:
                try:
                    await self._apply_batch(records, sorted_, fold)
                except Exception as error:
                    if is_transient(error):
                        raise
                    # Some record's handler fails: find it by applying them one by one.
                    log.exception("batch failed; applying its %d records one by one", len(records))
                    for record in records:
                        await self._apply_alone(record)
                return
            except Exception as error:
                if not is_transient(error):
                    raise
                log.warning("transient failure (%s); retrying in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30)
                if len(records) > self.config.max_batch:
                    # A large catch-up batch that Kafka or PostgreSQL could not take in time
                    # goes on in the main loop's smaller batches, each committed on its own,
                    # rather than be tried again whole.
                    size = self.config.max_batch
                    for start in range(0, len(records), size):
                        await self._process(records[start : start + size])
                    return

    async def _apply_alone(self, record: ConsumerRecord[Any, Any]) -> None:
        for attempt in range(1, HANDLER_ATTEMPTS + 1):
            try:
                await self._apply_batch([record])
                return
            except Exception as error:
                if is_transient(error):
                    raise
                if attempt == HANDLER_ATTEMPTS:
                    log.exception("record %s failed %d times", _where(record), attempt)
                    await self._dead_letter_and_skip(record, f"handler failed: {error!r}")
                    return
                await asyncio.sleep(0.2 * attempt)

    def _sort(self, records: Sequence[ConsumerRecord[Any, Any]]) -> _Sorted:
        """What applying each record takes, from its headers, decoding only what is applied.
        Reads nothing but the records: a replay sorts the next batch while this one commits."""
        found = _Sorted(records)
        answered = self._answered
        kinds = self._kinds
        decided = self.decided
        for record in records:
            headers = dict(record.headers or ())
            event_type = headers.get("event_type")
            event_id = headers.get("event_id")
            # Decided by the service before this rebuild: its outcome (if any) is in our log.
            # Marked on this batch only, so a long rebuild holds no set of every id it read.
            covered = bool(decided) and decided.covers(record)
            kind = kinds.get(event_type) if event_type is not None else None
            if kind is None:
                kind = self._kind_of(event_type)
            name, input_, read, projected = kind
            if input_ and event_id is not None:
                if not read:
                    found.ignored += 1  # a type this service does not read: nothing to apply
                    continue
                if not projected and (covered or event_id in answered):
                    found.answered_ids.append(event_id.decode())
                    continue
            try:
                envelope = decode(record.value or b"", name)
            except ValueError as error:
                found.undecodable.append((record, f"undecodable: {error}"))
                continue
            found.decoded.append(envelope)
            if covered:
                found.decided.add(envelope.event_id)
        return found

    def _kind_of(self, event_type: bytes | None) -> tuple[str | None, bool, bool, bool]:
        """What `_sort` needs of a record's type header: the type's name (None: unknown), and
        whether it is an input (our own events are always applied: their streams' versions
        follow them), one this service reads, and one it projects. Kept per type."""
        model = self._model_of.get(event_type) if event_type is not None else None
        if model is None:
            return None, False, False, False
        kind = (
            model.__name__,
            model.topic != self._own_contract_topic,
            model in self._handlers,
            bool(self._handlers.projections_for(model)),
        )
        if event_type is not None:
            self._kinds[event_type] = kind
        return kind

    async def _sort_between(self, records: Sequence[ConsumerRecord[Any, Any]]) -> _Sorted:
        """`_sort`, a slice at a time, letting the batch being applied go on in between (its
        statements run in PostgreSQL meanwhile, on the other core)."""
        step = 250
        found = _Sorted(records)
        for start in range(0, len(records), step):
            part = self._sort(records[start : start + step])
            found.decoded += part.decoded
            found.undecodable += part.undecodable
            found.answered_ids += part.answered_ids
            found.decided |= part.decided
            found.ignored += part.ignored
            await asyncio.sleep(0)
        return found

    async def _apply_batch(
        self,
        records: Sequence[ConsumerRecord[Any, Any]],
        sorted_: _Sorted | None = None,
        fold: bool = False,
    ) -> None:
        tables = self._folding if fold else None
        async with self._pool.acquire() as conn, conn.transaction():
            unapplied = await self._not_yet_applied(conn, records)
            if sorted_ is None or len(unapplied) != len(records):
                sorted_ = self._sort(unapplied)
            records = unapplied
            decoded, undecodable, decided = sorted_.decoded, sorted_.undecodable, sorted_.decided
            answered_ids, ignored, answered = sorted_.answered_ids, sorted_.ignored, self._answered
            uow = UnitOfWork(
                conn,
                self._publisher,
                self._handlers,
                self._own_contract_topic,
                self._already_in_log,
                folder=RowFolder(tables, self._parsed) if tables is not None else None,
            )
            ids: list[uuid.UUID | str] = [envelope.event_id for envelope in decoded]
            ids += answered_ids
            new = await self._record_applied(conn, ids, fold=tables is not None)
            # A handler re-deciding something whose outcome is further down this batch must not
            # claim it: the outcome is applied when the loop reaches it.
            uow.ahead = {i for i in new if not isinstance(i, str)}  # the decoded ones
            applied: list[str] = []
            for envelope in decoded:
                if envelope.event_id not in uow.ahead:
                    continue  # applied before
                uow.ahead.discard(envelope.event_id)
                uow.seen.add(envelope.event_id)
                decide = (
                    envelope.event_id not in decided
                    and str(envelope.event_id).encode() not in answered
                )
                await uow.apply(envelope, decide=decide)
                applied.append(envelope.event_type)
            await uow.flush()
            await self._store_offsets(conn, records)
            for record, reason in undecodable:
                await self._send_dead_letter(record, reason)
        self.applied += len(applied) + len(answered_ids) + ignored
        self.dead_lettered += len(undecodable)
        METRICS.applied(records[0].topic if records else "", applied)
        for record, _ in undecodable:
            METRICS.dead_lettered(record)

    @staticmethod
    async def _record_applied(
        conn: CopyingConnection, ids: list[uuid.UUID | str], *, fold: bool
    ) -> set[uuid.UUID | str]:
        """Record the ids as applied; the ones that were not before."""
        if fold:
            # Catching up: by COPY, unless one of them is there already.
            unique = list(dict.fromkeys(ids))
            if not unique:
                return set()
            if await copy_rows(conn, "applied_events", [(i,) for i in unique], ("event_id",)):
                return set(unique)
        return {
            row["event_id"]
            for row in await conn.fetch(
                "INSERT INTO applied_events (event_id) SELECT unnest($1::uuid[]) "
                "ON CONFLICT DO NOTHING RETURNING event_id",
                ids,
            )
        }

    async def _dead_letter_and_skip(self, record: ConsumerRecord[Any, Any], reason: str) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            if not await self._not_yet_applied(conn, [record]):
                return
            await self._send_dead_letter(record, reason)
            await self._store_offsets(conn, [record])
        self.dead_lettered += 1
        METRICS.dead_lettered(record)

    async def _send_dead_letter(self, record: ConsumerRecord[Any, Any], reason: str) -> None:
        log.error("dead-lettering %s: %s", _where(record), reason)
        headers = [
            ("error", reason[:4_000].encode()),
            ("source.topic", record.topic.encode()),
            ("source.partition", str(record.partition).encode()),
            ("source.offset", str(record.offset).encode()),
            ("consumer.group", self.config.group_id.encode()),
        ]
        await asyncio.wait_for(
            self._publisher.send_raw(
                self.config.dead_letter_topic, record.value, record.key, headers
            ),
            self._publisher.write_timeout,
        )

    @staticmethod
    async def _not_yet_applied(
        conn: Connection, records: Sequence[ConsumerRecord[Any, Any]]
    ) -> list[ConsumerRecord[Any, Any]]:
        """Drop records below the stored offset of their partition, and lock that offset.

        Records can come twice (a rebalance seeking back, a prefetched batch, catching up
        while the main loop starts); the stored offset, not the fetch position, says what is
        applied. The row lock makes two processors of one partition take turns.
        """
        partitions = {(r.topic, r.partition) for r in records}
        rows = await conn.fetch(
            "SELECT topic || ':' || partition AS at, next_offset FROM consumer_offsets "
            "WHERE (topic, partition) IN (SELECT * FROM unnest($1::text[], $2::int[])) "
            "FOR UPDATE",
            [topic for topic, _ in partitions],
            [partition for _, partition in partitions],
        )
        stored: dict[str, int] = {row["at"]: row["next_offset"] for row in rows}
        return [r for r in records if r.offset >= stored.get(f"{r.topic}:{r.partition}", 0)]

    @staticmethod
    async def _store_offsets(conn: Connection, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        next_offsets: dict[tuple[str, int], int] = {}
        for record in records:
            key = (record.topic, record.partition)
            next_offsets[key] = max(next_offsets.get(key, 0), record.offset + 1)
        await conn.executemany(
            "INSERT INTO consumer_offsets (topic, partition, next_offset, applied_at) "
            "VALUES ($1, $2, $3, now()) ON CONFLICT (topic, partition) DO UPDATE "
            "SET next_offset = EXCLUDED.next_offset, applied_at = EXCLUDED.applied_at",
            [(topic, partition, offset) for (topic, partition), offset in next_offsets.items()],
        )


# The cyclic garbage collector while catching up. Its passes walk every object alive; with
# the look-ahead's records and a batch's rows and envelopes held, they took a third of a
# replay's time. What is alive when catching up begins (and the records kept, see catch_up)
# is frozen: left out of the passes, still freed as it goes out of use. The collector's own
# triggers are off; the young generations are collected after each batch (what a batch made
# and left in cycles), everything every `_FULL_EVERY` batches, and as usual after.
_FULL_EVERY = 100
_paused = 0
_was_enabled = True
_batches = 0


def _pause_collector() -> None:
    global _paused, _was_enabled
    if _paused == 0:
        _was_enabled = gc.isenabled()
    _paused += 1
    gc.freeze()
    gc.disable()


def _resume_collector() -> None:
    global _paused
    _paused -= 1
    if _paused == 0:
        gc.unfreeze()
        if _was_enabled:
            gc.enable()


def _collect_after_batch() -> None:
    global _batches
    if not _paused:
        return
    _batches += 1
    gc.collect(2 if _batches % _FULL_EVERY == 0 else 1)


@dataclass(frozen=True)
class DecidedBefore:
    """What a service had decided before a rebuild emptied its schema: every record below its
    stored offsets (per topic and partition) but the ones it dead-lettered. A rebuild runs
    only the projections of those: their decisions' outcomes, if any, are in the log.

    Decided again, a decision that left nothing in the log (a new playlist badge that nobody
    held all of yet) would read state replayed in another order than the one it was made on
    (the own log before the inputs, one partition after another), and could decide otherwise.
    A dead-lettered record changed nothing: it is replayed as it was first applied.
    """

    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    dead_lettered: frozenset[tuple[str, int, int]] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.offsets)

    def covers(self, record: ConsumerRecord[Any, Any]) -> bool:
        at = (record.topic, record.partition)
        return record.offset < self.offsets.get(at, 0) and (
            not self.dead_lettered or (*at, record.offset) not in self.dead_lettered
        )


class IdsInLog(Container[uuid.UUID]):
    """Event ids found in a log's headers, kept as the header bytes (no UUID made for each)."""

    __slots__ = ("_ids",)

    def __init__(self, ids: frozenset[bytes] = frozenset()) -> None:
        self._ids = ids

    def __contains__(self, event_id: object) -> bool:
        return bool(self._ids) and str(event_id).encode() in self._ids

    def __len__(self) -> int:
        return len(self._ids)


@dataclass
class _Sorted:
    """A batch's records by what applying them takes (see EventConsumer._sort)."""

    records: Sequence[ConsumerRecord[Any, Any]]
    decoded: list[Envelope[Any]] = field(default_factory=list)
    undecodable: list[tuple[ConsumerRecord[Any, Any], str]] = field(default_factory=list)
    # Answered already, with nothing to project: recorded as applied, never decoded.
    # As their headers' text (PostgreSQL takes a uuid as text): no UUID made for each.
    answered_ids: list[str] = field(default_factory=list)
    # Of types the service does not read: nothing to apply.
    ignored: int = 0
    # Decoded, and decided before this rebuild (DecidedBefore): projections only.
    decided: set[uuid.UUID] = field(default_factory=set)


class _SeekToStoredOffsets(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: EventConsumer, consumer: AIOKafkaConsumer) -> None:
        self._owner = owner
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        # Offsets live in PostgreSQL with the state: nothing to commit to Kafka. The batch in
        # flight commits (or rolls back) before the group hands its partition to another
        # instance, and nothing fetched for a revoked partition is applied after it.
        async with self._owner.applying:
            pass

    async def on_partitions_assigned(self, assigned: Any) -> None:
        async with self._owner.applying:
            await self._owner._claim_partitions(list(assigned))
            await self._owner._seek_to_stored(self._consumer, list(assigned))


async def _read_up_to(
    consumer: AIOKafkaConsumer, end: dict[TopicPartition, int], max_records: int | None = None
) -> AsyncIterator[Batch]:
    """Each fetch's records of the partitions in `end`, from where the consumer stands up to
    (not including) their offset there, until every one has reached it."""
    while [tp for tp in end if await consumer.position(tp) < end[tp]]:
        for tp, records in (
            await consumer.getmany(timeout_ms=500, max_records=max_records)
        ).items():
            yield tp, [r for r in records if r.offset < end[tp]]


async def _each(batches: list[Batch]) -> AsyncIterator[Batch]:
    for batch in batches:
        yield batch


def _owns(consumer: AIOKafkaConsumer, partition: TopicPartition) -> bool:
    return partition in consumer.assignment()


def _where(record: ConsumerRecord[Any, Any]) -> str:
    return f"{record.topic}[{record.partition}]@{record.offset}"
