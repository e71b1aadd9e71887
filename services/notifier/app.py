"""Wires the notifier: it mails claim links, awards, review requests, returned evidence,
sign-in links and reviewer invitations, records each email as EmailSent, EmailDeferred or
EmailFailed, and tries deferred ones again from its retry schedule. Its HTTP face is health
only."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiosmtplib
from fastapi import FastAPI

from contracts.activity import TOPIC as ACTIVITY_TOPIC
from contracts.badge import TOPIC as BADGE_TOPIC
from contracts.evidence import TOPIC as EVIDENCE_TOPIC
from contracts.notifier import TOPIC
from contracts.tokens import ClaimTokens, ClaimTokenSettings
from services.kernel.http import new_app
from services.kernel.runtime import ServiceRuntime, ServiceSpec
from services.kernel.settings import KernelSettings
from services.notifier.adapters.smtp import Mailer
from services.notifier.adapters.tables import CHECKSUM_TABLES, DDL
from services.notifier.delivery import Courier
from services.notifier.handlers import Compose, build_handlers, composer
from services.notifier.schedule import RetryPolicy
from services.notifier.scheduler import RetrySchedule
from services.notifier.settings import NotifierSettings

SPEC = ServiceSpec(
    name="notifier",
    own_topic=TOPIC,
    # Activity: organisation and organiser names, for senders and invitations.
    input_topics=(ACTIVITY_TOPIC, BADGE_TOPIC, EVIDENCE_TOPIC),
    ddl=DDL,
    checksum_tables=CHECKSUM_TABLES,
)


class Notifier:
    """The notifier's parts, built once: what the consumer and the retry schedule share."""

    def __init__(
        self, settings: NotifierSettings, tokens: ClaimTokens, mailer: Mailer | None = None
    ) -> None:
        self.settings = settings
        self.compose: Compose = composer(settings, tokens)
        self.courier = Courier(mailer or Mailer(settings), RetryPolicy.of(settings))

    def schedule(self, runtime: ServiceRuntime) -> RetrySchedule:
        return RetrySchedule(runtime, self.compose, self.courier, self.settings.retry_poll_seconds)


class NotifierRuntime(ServiceRuntime):
    """The kernel's runtime, holding the notifier's parts for its app and commands."""

    def __init__(self, settings: KernelSettings, notifier: Notifier) -> None:
        super().__init__(
            SPEC, settings, lambda _: build_handlers(notifier.compose, notifier.courier)
        )
        self.notifier = notifier


def build_runtime(
    settings: KernelSettings | None = None,
    notifier_settings: NotifierSettings | None = None,
    tokens: ClaimTokens | None = None,
    mailer: Mailer | None = None,
) -> NotifierRuntime:
    tokens = tokens or ClaimTokens.from_settings(ClaimTokenSettings())
    notifier = Notifier(notifier_settings or NotifierSettings(), tokens, mailer)
    runtime = NotifierRuntime(settings or KernelSettings(), notifier)
    runtime.add_readiness_check("smtp", lambda: smtp_answers(notifier.settings))
    return runtime


async def smtp_answers(settings: NotifierSettings) -> str | None:
    """Readiness: the SMTP server takes a connection and answers NOOP (a notifier that cannot
    mail is not ready, though it runs)."""
    client = aiosmtplib.SMTP(
        hostname=settings.smtp_host,
        port=settings.smtp_port,
        use_tls=settings.smtp_security == "tls",
        timeout=2,
    )
    try:
        await client.connect()
        await client.noop()
        await client.quit()
    except (aiosmtplib.SMTPException, OSError) as error:
        return f"SMTP {settings.smtp_host}:{settings.smtp_port} does not answer: {error}"
    return None


def build_app(runtime: ServiceRuntime) -> FastAPI:
    app = new_app("Notifier service", "Mails claim links and outcomes. Health only.")
    assert isinstance(runtime, NotifierRuntime)
    schedule = runtime.notifier.schedule(runtime)
    serving = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def with_retry_schedule(app: FastAPI) -> AsyncIterator[Any]:
        # Started once the runtime has caught up on its own log (the app is built after).
        async with serving(app) as state:
            task = asyncio.create_task(schedule.run(), name="retry-schedule")
            try:
                yield state
            finally:
                # Let an attempt under way be recorded rather than leave it half done.
                schedule.stop()
                grace = runtime.notifier.settings.smtp_timeout_seconds + 5
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(task, grace)

    app.router.lifespan_context = with_retry_schedule
    return app
