"""Wires one service: its schema, publisher and consumer, and the commands every service has
(serve, rebuild, checksum, verify), with the readiness it reports."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg

import contracts
from contracts import Envelope
from contracts import services as catalogue
from services.kernel import store
from services.kernel.consumer import ConsumerConfig, DecidedBefore, EventConsumer
from services.kernel.handlers import Handlers
from services.kernel.progress import ReplayProgress
from services.kernel.publisher import EventPublisher
from services.kernel.settings import KernelSettings
from services.kernel.topics import ensure_topics
from services.kernel.unit_of_work import UnitOfWork, run_unit_of_work

log = logging.getLogger(__name__)
T = TypeVar("T")

# A readiness check answers None when all is well, else what is wrong.
ReadinessCheck = Callable[[], Awaitable[str | None]]

# Connections per pool. Reads have their own pool so that writes waiting (on Kafka, on a lock)
# can never take the connections a read needs; the consumer has its own for the same reason.
READ_POOL_SIZE = 10
WRITE_POOL_SIZE = 4
CONSUMER_POOL_SIZE = 2


@dataclass(frozen=True)
class ServiceSpec:
    """What the kernel needs to know about a service. Its topics are those the catalogue
    (contracts/services.py) gives it: `ServiceSpec.of(name, ddl, checksum_tables)` reads them
    there, and a spec that names other topics is refused."""

    name: str
    own_topic: str  # contract topic name, e.g. "badge.events"
    input_topics: tuple[str, ...]
    ddl: str
    checksum_tables: tuple[str, ...]

    @classmethod
    def of(cls, name: str, ddl: str, checksum_tables: tuple[str, ...]) -> ServiceSpec:
        entry = catalogue.service(name)
        return cls(name, entry.own_topic, entry.input_topics, ddl, checksum_tables)

    def __post_init__(self) -> None:
        entry = catalogue.service(self.name)
        if (self.own_topic, tuple(self.input_topics)) != (entry.own_topic, entry.input_topics):
            raise ValueError(
                f"the {self.name} service writes {entry.own_topic} and reads "
                f"{entry.input_topics} in contracts/services.py; its spec says "
                f"{self.own_topic} and {self.input_topics}"
            )


# What a service hands the runtime for its event handlers: the registry itself, or (for a
# registry that needs the started runtime) a function of the runtime that builds it.
HandlersOrFactory = Handlers | Callable[["ServiceRuntime"], Handlers]


@dataclass
class VerifyReport:
    """What `verify` found: per table the row counts, and every row that differs."""

    tables: dict[str, dict[str, int]] = field(default_factory=dict)
    differences: list[dict[str, Any]] = field(default_factory=list)
    # Events the rebuild decided that the log does not hold (it appends nothing).
    withheld: list[str] = field(default_factory=list)
    rounds: int = 0

    @property
    def same(self) -> bool:
        return not self.differences and not self.withheld


def _given(handlers: Handlers) -> Callable[[ServiceRuntime], Handlers]:
    def build(_: ServiceRuntime) -> Handlers:
        return handlers

    return build


class ServiceRuntime:
    """One service's running parts. `settings` are built once, by the service's composition
    root, and passed in; `handlers` is its `Handlers` registry, or a function of this runtime
    that builds one once it is open (the older form, still accepted)."""

    def __init__(
        self,
        spec: ServiceSpec,
        settings: KernelSettings,
        handlers: HandlersOrFactory,
        *,
        schema: str | None = None,
        appending: bool = True,
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.schema = schema or settings.schema_name(spec.name)
        self._build_handlers: Callable[[ServiceRuntime], Handlers] = (
            _given(handlers) if isinstance(handlers, Handlers) else handlers
        )
        self._appending = appending
        self._pool: asyncpg.Pool | None = None
        self._write_pool: asyncpg.Pool | None = None
        self._consumer_pool: asyncpg.Pool | None = None
        self._publisher: EventPublisher | None = None
        self._consumer: EventConsumer | None = None
        self._consumer_task: asyncio.Task[None] | None = None
        self.handlers: Handlers = Handlers()
        self.caught_up = False
        self.readiness_checks: dict[str, ReadinessCheck] = {}

    # -- wiring ------------------------------------------------------------------------------

    @property
    def pool(self) -> asyncpg.Pool:
        """The readers' pool: queries and public documents, never held by a waiting write."""
        assert self._pool is not None, "runtime not started"
        return self._pool

    @property
    def publisher(self) -> EventPublisher:
        assert self._publisher is not None, "runtime not started"
        return self._publisher

    @property
    def consumer(self) -> EventConsumer:
        assert self._consumer is not None, "runtime not started"
        return self._consumer

    def topic(self, contract_topic: str) -> str:
        return self.settings.topic(contract_topic)

    def add_readiness_check(self, name: str, check: ReadinessCheck) -> None:
        """A service's own condition for taking traffic (the notifier: SMTP answers)."""
        self.readiness_checks[name] = check

    async def open(self) -> None:
        """Connect to Kafka and PostgreSQL and migrate the schema; consume nothing yet."""
        await ensure_topics(self.settings)
        url = self.settings.database_url
        self._pool = await store.create_pool(url, self.schema, max_size=READ_POOL_SIZE)
        self._write_pool = await store.create_pool(
            url, self.schema, max_size=WRITE_POOL_SIZE, min_size=0
        )
        self._consumer_pool = await store.create_pool(url, self.schema, max_size=CONSUMER_POOL_SIZE)
        await store.migrate(self._pool, self.spec.ddl)
        self._publisher = EventPublisher(
            self.settings.kafka_bootstrap_servers,
            {name: self.topic(name) for name in contracts.TOPICS},
            write_timeout=self.settings.write_timeout_seconds,
            appending=self._appending,
        )
        await self._publisher.start()
        self.handlers = self._build_handlers(self)
        namespaced = {self.topic(name): name for name in contracts.TOPICS}
        self._consumer = EventConsumer(
            ConsumerConfig(
                group_id=self.settings.topic(f"{self.spec.name}-service"),
                bootstrap_servers=self.settings.kafka_bootstrap_servers,
                contract_topic_of=namespaced,
                own_topic=self.topic(self.spec.own_topic),
                input_topics=tuple(self.topic(name) for name in self.spec.input_topics),
                dead_letter_topic=self.settings.dead_letter_topic(self.spec.name),
            ),
            self._consumer_pool,
            self._publisher,
            self.handlers,
        )

    async def close(self) -> None:
        if self._consumer_task is not None:
            self._consumer_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._consumer_task
            self._consumer_task = None
        if self._consumer is not None:
            await self._consumer.close()
        if self._publisher is not None:
            await self._publisher.stop()
            self._publisher = None
        for pool in (self._pool, self._write_pool, self._consumer_pool):
            if pool is not None:
                await pool.close()
        self._pool = self._write_pool = self._consumer_pool = None

    # -- the commands ------------------------------------------------------------------------

    async def start_consuming(self) -> asyncio.Task[None]:
        """Catch up on our own decisions first, then consume everything in the background."""
        await self.consumer.catch_up([self.consumer.config.own_topic])
        await self.consumer.close()  # the main loop has its own client
        self._consumer_task = asyncio.create_task(self.consumer.run(), name="consumer")
        self.caught_up = True
        return self._consumer_task

    async def rebuild(self, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Empty the schema and replay every topic from the earliest offset.

        What the service had decided before (its stored offsets, read before the schema is
        emptied) is replayed, not decided again: those records have only their projections
        run, and an input with none is not even decoded. Past those offsets, own events come
        first, so decisions already made are known and not made (or mailed) again: an input
        whose decisions are all in our log (its derived events' headers say so) is replayed
        the same way. `progress` gets a line every second: events a second, each partition's
        position, the ETA.
        """
        await self.close()
        offsets = await store.offsets_decided(self.settings.database_url, self.schema)
        await store.drop_schema(self.settings.database_url, self.schema)
        await self.open()

        def told(part: str) -> ReplayProgress | None:
            label = f"{self.spec.name} rebuild, {part}"
            return ReplayProgress(label, progress) if progress is not None else None

        began = time.monotonic()
        self.consumer.decided = await self.consumer.decided_before(offsets)
        try:
            own_topic = self.consumer.config.own_topic
            own = await self.consumer.catch_up([own_topic], progress=told("own log"))
            sent = self.publisher.sent
            inputs = await self.consumer.catch_up(
                list(self.consumer.config.input_topics), progress=told("inputs")
            )
            # What deciding the inputs appended (applied already, when it was decided): read
            # past, so that the stored offsets say it was decided, for the next rebuild.
            if self.publisher.sent != sent:
                await self.consumer.catch_up([own_topic])
        finally:
            self.consumer.decided = DecidedBefore()
        return {
            "own_records": own,
            "input_records": inputs,
            "applied": self.consumer.applied,
            # The replay itself, without emptying the schema and connecting.
            "replay_seconds": round(time.monotonic() - began, 3),
        }

    async def decide_again(self, event_types: Sequence[str]) -> dict[str, Any]:
        """Run the policies of the input events of `event_types` that were applied already,
        once more, one transaction each: for a version that adds a policy on events the
        service was already reading, whose decisions were therefore never made. A policy
        decides from the state, under ids that follow from its cause, so one decided already
        decides nothing new; the running service (or its other instances) may go on
        meanwhile, their locks keep the two apart. Events not applied yet are left to the
        consumer, which decides them in full."""
        types = self._inputs_with_policies(event_types)
        inputs = list(self.consumer.config.input_topics)
        sent, read = self.publisher.sent, 0
        async for envelope in self.consumer.applied_of_types(inputs, types):

            async def decide(uow: UnitOfWork, envelope: Envelope[Any] = envelope) -> None:
                await uow.decide_again(envelope)

            await self.execute(decide)
            read += 1
        return {
            "event_types": sorted(types),
            "decided_again": read,
            "appended": self.publisher.sent - sent,
        }

    def _inputs_with_policies(self, names: Sequence[str]) -> set[str]:
        """The names, each checked to be an input event of this service that it decides on."""
        known = contracts.registry()
        inputs = set(self.spec.input_topics)
        for name in names:
            model = known.get(name)
            if model is None:
                raise ValueError(f"{name} is no event type (see contracts/)")
            if model.topic not in inputs:
                raise ValueError(f"{name} is not an input of the {self.spec.name} service")
            if not self.handlers.policies_for(model):
                raise ValueError(f"the {self.spec.name} service has no policy on {name}")
        return set(names)

    async def checksum(self) -> str:
        return await store.checksum(self.pool, self.spec.checksum_tables)

    async def table_digests(self) -> dict[str, str]:
        return await store.table_digests(self.pool, self.spec.checksum_tables)

    async def verify(self, rounds: int = 5, settle_seconds: float = 60.0) -> VerifyReport:
        """Rebuild into a scratch schema beside the live one, while the service runs, and
        compare the two table by table.

        The rebuild reads our own log to its end, and our inputs only as far as the live
        service has applied them: every decision on those inputs is then already in our log,
        so the rebuild decides nothing new (and mails nobody; it appends nothing in any case).
        Once the live service has applied as much of our log as the rebuild did, the tables
        are compared. A row still in flight (a request committing, an event just appended)
        can differ for a moment, so differences are looked at again, after both sides read
        on, up to `rounds` times; what still differs then is reported.
        """
        scratch = ServiceRuntime(
            self.spec,
            self.settings,
            self._build_handlers,
            schema=f"{self.schema}_verify"[:63],
            appending=False,
        )
        await store.drop_schema(self.settings.database_url, scratch.schema)
        await scratch.open()
        log.info("verify: rebuilding %s into %s", self.schema, scratch.schema)
        report = VerifyReport()
        try:
            own_topic = self.consumer.config.own_topic
            for round_number in range(1, rounds + 1):
                report.rounds = round_number
                live = await self.consumer.stored_offsets()
                live_inputs = {tp: offset for tp, offset in live.items() if tp.topic != own_topic}
                # What the live service has decided is replayed, not decided again.
                scratch.consumer.decided = await scratch.consumer.decided_before(
                    {(tp.topic, tp.partition): offset for tp, offset in live.items()}
                )
                own = await scratch.consumer.catch_up([own_topic])
                inputs = await scratch.consumer.catch_up(
                    list(scratch.consumer.config.input_topics), until=live_inputs
                )
                log.info(
                    "verify round %d: replayed %d own, %d input records", round_number, own, inputs
                )
                await self._wait_for_live(scratch, own_topic, settle_seconds)
                report = await self._compare(scratch, report)
                log.info("verify round %d: %d rows differ", round_number, len(report.differences))
                if report.same:
                    break
                await asyncio.sleep(1.0)
            report.withheld = [f"{e.event_type} {e.event_id}" for e in scratch.publisher.withheld]
        finally:
            await scratch.close()
            await store.drop_schema(self.settings.database_url, scratch.schema)
            log.info("verify: scratch schema dropped")
        return report

    async def _wait_for_live(
        self, scratch: ServiceRuntime, own_topic: str, settle_seconds: float
    ) -> None:
        """Until the live consumer has applied our own log as far as the rebuild has."""
        deadline = time.monotonic() + settle_seconds
        rebuilt = await scratch.consumer.stored_offsets()
        while time.monotonic() < deadline:
            live = await self.consumer.stored_offsets()
            if all(
                live.get(tp, 0) >= offset for tp, offset in rebuilt.items() if tp.topic == own_topic
            ):
                return
            await asyncio.sleep(0.2)
        log.warning("the live service is still behind its own log; comparing anyway")

    async def _compare(self, scratch: ServiceRuntime, previous: VerifyReport) -> VerifyReport:
        report = VerifyReport(rounds=previous.rounds)
        async with self.pool.acquire() as live, scratch.pool.acquire() as rebuilt:
            # One snapshot of the live tables, so they agree with each other.
            async with live.transaction(isolation="repeatable_read", readonly=True):
                live_rows = {t: await store.rows_by_key(live, t) for t in self.spec.checksum_tables}
            for table in self.spec.checksum_tables:
                rebuilt_rows = await store.rows_by_key(rebuilt, table)
                found = store.differing_rows(table, live_rows[table], rebuilt_rows)
                report.tables[table] = {
                    "live": len(live_rows[table]),
                    "rebuilt": len(rebuilt_rows),
                    "differing": len(found),
                }
                report.differences.extend(found)
        return report

    # -- readiness ---------------------------------------------------------------------------

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Whether this service can do its work now, and why not: Kafka and PostgreSQL
        answer, the consumer runs and no partition is stuck, and the service's own checks."""
        checks: dict[str, ReadinessCheck] = {
            "kafka": self._kafka_ready,
            "postgresql": self._postgresql_ready,
            **self.readiness_checks,
        }
        names = list(checks)
        results = await asyncio.gather(
            *(asyncio.wait_for(checks[name](), 3.0) for name in names), return_exceptions=True
        )
        found: dict[str, dict[str, Any]] = {}
        for name, result in zip(names, results, strict=True):
            if isinstance(result, BaseException):
                problem: str | None = f"no answer in time ({result!r})"
            else:
                problem = result
            found[name] = {"ok": problem is None, **({"problem": problem} if problem else {})}
        partitions: list[dict[str, Any]] = []
        consumer_problem = self._consumer_problem()
        if not found["postgresql"]["ok"]:
            consumer_problem = consumer_problem or "offsets unknown while PostgreSQL is down"
        else:
            try:
                partitions = await asyncio.wait_for(self.consumer.progress(), 3.0)
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                consumer_problem = consumer_problem or f"offsets unreadable: {error!r}"
            stuck = [
                f"{p['topic']}[{p['partition']}]"
                for p in partitions
                if p["owned"]
                and p["lag"]
                and (p["last_applied_age_seconds"] or 0) > self.settings.stuck_after_seconds
            ]
            if stuck and consumer_problem is None:
                consumer_problem = f"no progress for {self.settings.stuck_after_seconds:g}s on " + (
                    ", ".join(stuck)
                )
        found["consumer"] = {
            "ok": consumer_problem is None,
            **({"problem": consumer_problem} if consumer_problem else {}),
        }
        ready = all(check["ok"] for check in found.values())
        body = {
            "service": self.spec.name,
            "status": "ready" if ready else "starting" if not self.caught_up else "not ready",
            "checks": found,
            # From PostgreSQL: the records read past, kept across restarts.
            "applied": sum(p["next_offset"] for p in partitions),
            "lag": sum(p["lag"] or 0 for p in partitions),
            "dead_lettered_since_start": self.consumer.dead_lettered,
            "partitions": partitions,
        }
        return ready, body

    async def _kafka_ready(self) -> str | None:
        if await self.publisher.probe(within=2.0):
            return None
        return self.publisher.last_error or "Kafka does not answer"

    async def _postgresql_ready(self) -> str | None:
        async with self.pool.acquire(timeout=2.0) as conn:
            await conn.fetchval("SELECT 1", timeout=2.0)
        return None

    def _consumer_problem(self) -> str | None:
        if not self.caught_up:
            return "catching up on its own log"
        task = self._consumer_task
        if task is None or task.done():
            return "the consumer has stopped"
        return None

    # -- for request handlers ----------------------------------------------------------------

    async def execute(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Run a command in one transaction; the events it emits are in Kafka before it commits.

        Writes use their own pool and give up after the write timeout (503), so a Kafka outage
        can hold neither a reader's connection nor a lock for long.
        """
        assert self._write_pool is not None, "runtime not started"
        result: T = await run_unit_of_work(
            self._write_pool, self.publisher, self.handlers, self.spec.own_topic, work
        )
        return result
