"""A unit of work with no database and no Kafka, for running a service's policies in memory.

It keeps what the real one keeps (applied event ids, each aggregate's last version) in dicts,
applies emitted events through the same handlers at once, and records them in `emitted`, so
a test gives a policy its events and reads what it decided, in milliseconds. Handlers that
write SQL cannot run here: a service runs its policies with an in-memory state (kept by its
domain's `evolve`) in place of the read models they would query.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Sequence
from typing import Any, NoReturn, cast

from contracts import Envelope
from services.kernel.deferred_writes import DeferringConnection
from services.kernel.handlers import Handlers
from services.kernel.unit_of_work import AppendAhead, UnitOfWork


class _NoDatabase:
    def __getattr__(self, name: str) -> NoReturn:
        raise RuntimeError(
            f"conn.{name}: an in-memory unit of work has no database; read state through the "
            "service's state port instead"
        )


class InMemoryUnitOfWork(UnitOfWork):
    def __init__(self, handlers: Handlers, own_topic: str) -> None:
        # Deliberately not the real constructor: there is no connection and no publisher.
        self.conn = cast(DeferringConnection, _NoDatabase())
        self._handlers = handlers
        self._own_topic = own_topic
        self._already_in_log = frozenset()
        self.ahead = set()
        self.seen = set()
        self.versions: dict[uuid.UUID, int] = {}
        # Every event emitted, in order: what the policies decided.
        self.emitted: list[Envelope[Any]] = []
        self._before_flush = []

    async def claim(self, event_id: uuid.UUID) -> bool:
        if event_id in self.seen:
            return False
        self.seen.add(event_id)
        return True

    async def is_applied(self, event_id: uuid.UUID) -> bool:
        return event_id in self.seen

    async def lock_stream(self, stream_id: uuid.UUID) -> int:
        return self.versions.get(stream_id, 0)

    async def lock_key(self, key: str, *, shared: bool = False) -> None:
        return None  # one unit of work at a time: nothing to wait for

    async def apply(self, envelope: Envelope[Any], *, decide: bool = True) -> None:
        if type(envelope.payload).topic == self._own_topic:
            stream = envelope.stream_id
            self.versions[stream] = max(envelope.stream_version, self.versions.get(stream, 0))
        kind = type(envelope.payload)
        handlers = (
            self._handlers.for_event(kind) if decide else self._handlers.projections_for(kind)
        )
        for handler in handlers:
            await handler(self, envelope)

    async def emit(self, envelope: Envelope[Any], *, wait: bool = False) -> bool:
        if not await self.claim(envelope.event_id):
            return False
        self.emitted.append(envelope)
        await self.apply(envelope)
        return True

    @property
    def cause_now(self) -> uuid.UUID | None:
        return None

    def appender(self) -> AppendAhead:
        """There is no log: the events are emitted here at once (held weakly, as the real
        one holds no unit of work)."""
        unit = weakref.ref(self)

        async def append(events: Sequence[tuple[Envelope[Any], uuid.UUID | None]]) -> None:
            found = unit()
            if found is None:
                raise RuntimeError("the unit of work is gone")
            for event, _ in events:
                await found.emit(event)

        return append

    async def flush(self) -> None:
        await self._run_before_flush()

    async def receive(self, envelope: Envelope[Any]) -> bool:
        """An event read from a log, as the consumer applies it: once per id."""
        if not await self.claim(envelope.event_id):
            return False
        await self.apply(envelope)
        return True
