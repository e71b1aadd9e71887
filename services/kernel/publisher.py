"""Appends events to Kafka safely: acks from all replicas, idempotent producer,
key = aggregate id; and knows, at any moment, whether Kafka can be reached at all."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.protocol.metadata import MetadataRequest

from contracts import Envelope, encode

log = logging.getLogger(__name__)


class WriteUnavailable(Exception):
    """A write that cannot be carried out now; nothing of it was kept. Answered with 503.

    Not a DomainError: it is no refusal of the request, and a route that turns refusals into
    its own answer must let this one through to the 503.
    """

    status_code = 503

    def __init__(self, message: str, retry_after_seconds: int = 5) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_seconds = retry_after_seconds


class KafkaUnavailable(WriteUnavailable):
    """Kafka did not take the write's events within the bound: the transaction rolls back."""


class EventPublisher:
    def __init__(
        self,
        bootstrap_servers: str,
        topic_for: dict[str, str],
        *,
        write_timeout: float = 5.0,
        probe_interval: float = 1.0,
        appending: bool = True,
    ) -> None:
        # topic_for maps a contract topic ("badge.events") to its namespaced name.
        self._topic_for = topic_for
        # How long a write waits for Kafka to make progress before it gives up.
        self.write_timeout = write_timeout
        self._probe_interval = probe_interval
        # False for a replay that must never add to the log (the verify command): what it
        # would have appended is kept in `withheld` instead.
        self._appending = appending
        self.withheld: list[Envelope[Any]] = []
        self.sent = 0  # events sent to be appended, by this process
        # Events this process appended lately, or handed to the producer and still on their
        # way (the producer retries them until Kafka has them), kept though the transaction
        # that emitted them rolled back: when it is retried, its decisions are found here,
        # not made (or, for an email, carried out) again, and the one in the log is the one
        # applied. Each with the future that resolves once Kafka has it.
        self._recent: OrderedDict[uuid.UUID, tuple[Envelope[Any], asyncio.Future[Any]]] = (
            OrderedDict()
        )
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=0,
            request_timeout_ms=15_000,
        )
        # What the last probe of the cluster found; writes fail fast while it is down, so
        # they take no lock and no connection only to wait for a broker that is not there.
        self.reachable = True
        self.unreachable_since: float | None = None
        self.last_error = ""
        self._watch: asyncio.Task[None] | None = None
        # Set when a probe finds the cluster gone: writes already waiting on Kafka give up
        # then, instead of at their deadline. A new one once Kafka answers again.
        self._found_down: asyncio.Event | None = None

    async def start(self) -> None:
        await self._producer.start()
        self._watch = asyncio.create_task(self._watch_cluster(), name="kafka-watch")

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await self._producer.stop()

    # -- is Kafka there ----------------------------------------------------------------------

    async def probe(self, within: float = 2.0) -> bool:
        """Ask the cluster for its metadata now; records and returns whether it answered."""
        try:
            await asyncio.wait_for(self._ask_cluster(), within)
        except (KafkaError, OSError, TimeoutError) as error:
            self._mark_unreachable(f"no answer from Kafka: {error!r}")
            self._waiting_writes_give_up().set()
            return False
        if not self.reachable:
            log.info("Kafka answers again")
        self.reachable, self.unreachable_since, self.last_error = True, None, ""
        if self._found_down is not None and self._found_down.is_set():
            self._found_down = None
        return True

    async def _ask_cluster(self) -> None:
        """The brokers' metadata, without any topic's, from the first broker that answers.

        The metadata of every topic, which the probe asked for before, grows with the
        cluster (4,224 topics on a shared test cluster: 0.2 s and 90 ms of this process's CPU
        each time, every second, in every process, and the broker's work to write it), until
        the probes themselves kept a busy broker from answering them in time."""
        client = self._producer.client
        nodes = [broker.nodeId for broker in client.cluster.brokers()]
        random.shuffle(nodes)
        problem: BaseException | None = None
        for node in nodes:
            try:
                answer = await client.send(node, MetadataRequest([]))
            except (KafkaError, OSError, TimeoutError) as error:
                problem = error
                continue
            if answer.brokers:
                return
        raise KafkaConnectionError(f"no broker answered: {problem!r}")

    def _waiting_writes_give_up(self) -> asyncio.Event:
        if self._found_down is None:
            self._found_down = asyncio.Event()
        return self._found_down

    def _mark_unreachable(self, reason: str) -> None:
        if self.reachable:
            log.warning("Kafka unreachable: %s", reason)
            self.unreachable_since = time.monotonic()
        self.reachable, self.last_error = False, reason

    async def _watch_cluster(self) -> None:
        while True:
            await self.probe(within=min(2.0, self.write_timeout))
            await asyncio.sleep(self._probe_interval)

    def check_reachable(self) -> None:
        """Refuse a write at once while Kafka is known to be down."""
        if not self.reachable:
            raise KafkaUnavailable(
                "the event log (Kafka) is unreachable; nothing was changed, try again shortly",
                retry_after_seconds=max(1, round(self.write_timeout)),
            )

    # -- appending ---------------------------------------------------------------------------

    def recently_appended(
        self, event_id: uuid.UUID
    ) -> tuple[Envelope[Any], asyncio.Future[Any]] | None:
        """The event with this id this process sent lately (delivered or on its way), and the
        future that resolves once Kafka has it."""
        return self._recent.get(event_id)

    def _remember(self, envelope: Envelope[Any], future: asyncio.Future[Any]) -> None:
        self._recent[envelope.event_id] = (envelope, future)
        if len(self._recent) > 100_000:
            self._recent.popitem(last=False)

    def _forget_if_failed(self, envelope: Envelope[Any], future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            found = self._recent.get(envelope.event_id)
            if found is not None and found[1] is future:
                del self._recent[envelope.event_id]

    async def send(
        self, envelope: Envelope[Any], extra_headers: Sequence[tuple[str, bytes]] = ()
    ) -> asyncio.Future[Any]:
        """Queue an event; the returned future resolves once every replica has it."""
        if not self._appending:
            self.withheld.append(envelope)
            done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        topic = self._topic_for[type(envelope.payload).topic]
        # The id and type ride along as headers so a reader can tell events apart
        # without decoding them (catching up collects the ids of a whole topic).
        headers = [
            ("event_id", str(envelope.event_id).encode()),
            ("event_type", envelope.event_type.encode()),
            *extra_headers,
        ]
        future: asyncio.Future[Any] = await self._producer.send(
            topic, encode(envelope), key=str(envelope.stream_id).encode(), headers=headers
        )
        self._remember(envelope, future)
        future.add_done_callback(lambda done: self._forget_if_failed(envelope, done))
        self.sent += 1
        return future

    async def append(
        self,
        envelopes: Sequence[Envelope[Any]],
        deadline: float | None = None,
        earlier: Sequence[asyncio.Future[Any]] = (),
        headers: Mapping[uuid.UUID, Sequence[tuple[str, bytes]]] | None = None,
    ) -> None:
        """Send events in order and wait until Kafka has them all.

        Gives up with KafkaUnavailable at `deadline` (a `time.monotonic()` value; by default
        `write_timeout` from now) unless Kafka acknowledges something by then; each
        acknowledgement gives it `write_timeout` more, so a large batch goes on while acks
        flow. It gives up at once when the publisher's probe finds the cluster gone, so a
        write Kafka stopped acknowledging does not wait out the time its last ack gave it.
        Events already handed to the producer may still reach the log after a give-up:
        they carry the ids of the decisions that made them, so the consumer applies them once,
        and a retry of the same request finds them applied instead of making them again.
        """
        if not envelopes and not earlier:
            return
        self.check_reachable()
        first = time.monotonic() + self.write_timeout if deadline is None else deadline
        # The time of the latest acknowledgement: each one gives Kafka write_timeout more,
        # also while the rest of a large batch is still being handed to the producer. Only
        # an acknowledgement that comes during this wait counts: a retry's earlier delivery,
        # done long ago, or a failed one, is no sign that Kafka takes anything now.
        acked = [float("-inf")]

        def on_ack(future: asyncio.Future[Any]) -> None:
            if not future.cancelled() and future.exception() is None:
                acked[0] = time.monotonic()

        def remaining() -> float:
            left = max(first, acked[0] + self.write_timeout) - time.monotonic()
            if left <= 0:
                raise TimeoutError
            return left

        # `earlier`: deliveries of events sent before (by a try that gave up) and reused now.
        pending: set[asyncio.Future[Any]] = set(earlier)
        found_down = asyncio.ensure_future(self._waiting_writes_give_up().wait())
        try:
            for future in pending:
                if future.done():
                    future.result()
                else:
                    future.add_done_callback(on_ack)
            pending = {future for future in pending if not future.done()}
            for envelope in envelopes:
                extra = headers.get(envelope.event_id, ()) if headers else ()
                future = await asyncio.wait_for(self.send(envelope, extra), remaining())
                future.add_done_callback(on_ack)
                pending.add(future)
            while pending:
                done, pending = await asyncio.wait(
                    pending | {found_down},
                    timeout=remaining(),
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if found_down in done:
                    raise KafkaConnectionError("the probe found the cluster gone")
                pending.discard(found_down)
                for future in done:
                    future.result()
        except (TimeoutError, KafkaError) as error:
            self._mark_unreachable(f"a write waited {self.write_timeout:g}s: {error!r}")
            raise KafkaUnavailable(
                "the event log (Kafka) did not take the change in time; nothing was changed, "
                "try again shortly",
                retry_after_seconds=max(1, round(self.write_timeout)),
            ) from error
        finally:
            found_down.cancel()

    async def publish(self, envelope: Envelope[Any]) -> None:
        await self.append([envelope])

    async def partitions_for(self, topic: str) -> list[int]:
        """The topic's partitions, from fresh metadata (the consumer has no public way)."""
        return sorted(await self._producer.partitions_for(topic))

    async def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> None:
        if not self._appending:
            return
        await (await self._producer.send(topic, value, key=key, headers=headers))
