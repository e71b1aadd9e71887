"""Tries again the emails whose time has come in the retry schedule, each in its own
transaction, beside the consumer: a failing email never holds up the others."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from contracts import new_envelope
from services.kernel.consumer import is_transient
from services.kernel.runtime import ServiceRuntime
from services.kernel.unit_of_work import UnitOfWork
from services.notifier.adapters import read_models as tables
from services.notifier.composer import Compose
from services.notifier.delivery import Courier, Email
from services.notifier.domain.attempts import Attempt, decide_missing_source
from services.notifier.domain.email import EmailState
from services.notifier.metrics import EMAILS

log = logging.getLogger(__name__)

BATCH = 100


class RetrySchedule:
    def __init__(
        self, runtime: ServiceRuntime, compose: Compose, courier: Courier, poll_seconds: float
    ) -> None:
        self._runtime = runtime
        self._compose = compose
        self._courier = courier
        self._poll = poll_seconds
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the attempt under way (its record reaches Kafka and PostgreSQL), then end."""
        self._stopping.set()

    async def run(self) -> None:
        """Until stopped: look for due retries, try each; a failure of this loop is logged and
        the loop goes on (what it could not do stays due)."""
        while not self._stopping.is_set():
            try:
                done = await self.run_due()
            except Exception as error:
                if is_transient(error):  # Kafka or PostgreSQL away: what is due stays due
                    log.warning("retry schedule: %r; trying again shortly", error)
                else:
                    log.exception("retry schedule: a round failed; trying again shortly")
                done = 0
            if done < BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._poll)

    async def run_due(self) -> int:
        async with self._runtime.pool.acquire() as conn:
            due = await tables.due_retries(conn, datetime.now(UTC), BATCH)
        for email_id in due:
            if self._stopping.is_set():
                break
            await self._runtime.execute(self._retry(email_id))
        return len(due)

    def _retry(self, email_id: uuid.UUID) -> Callable[[UnitOfWork], Awaitable[None]]:
        async def work(uow: UnitOfWork) -> None:
            await self._retry_in(uow, email_id)

        return work

    async def _retry_in(self, uow: UnitOfWork, email_id: uuid.UUID) -> None:
        retry = await tables.take_due_retry(uow.conn, email_id, datetime.now(UTC))
        if retry is None or await uow.is_applied(email_id):
            return
        source = None
        if retry.source_event_id is not None:
            source = await tables.source(uow.conn, retry.source_event_id)
        composed = []
        if source is not None:
            composed = [
                c
                for c in await self._compose(uow.conn, source)
                if c.kind == retry.kind and c.recipient == retry.recipient
            ]
        if not composed:
            await self._cannot_compose(uow, retry)
            return
        assert source is not None
        email = Email(composed[0], retry.cause_event_id, source.event_id, source.correlation_id)
        await self._courier.attempt(uow, email, Attempt.after(retry))

    async def _cannot_compose(self, uow: UnitOfWork, retry: EmailState) -> None:
        """The event it is composed from is not kept here: it can never be sent."""
        log.warning("email %s: its source %s is missing", retry.email_id, retry.source_event_id)
        for failed in decide_missing_source(retry):
            EMAILS.recorded(failed)
            await uow.emit(
                new_envelope(
                    failed,
                    event_id=retry.email_id,
                    stream_id=retry.email_id,
                    stream_version=retry.version + 1,
                    causation_id=retry.cause_event_id,
                    actor="service:notifier",
                ),
                wait=True,
            )
