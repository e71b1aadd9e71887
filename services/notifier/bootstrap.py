"""The notifier's one composition root: settings are read here, once, and everything is wired
from them. It mails claim links, awards, review requests, returned evidence, sign-in links and
reviewer invitations, records each email as EmailSent, EmailDeferred or EmailFailed, and tries
deferred ones again from its retry schedule. Its HTTP face is health only.

`checksum`, `rebuild` and `verify` read the logs and the read models: they need Kafka,
PostgreSQL and the namespace, not the secret that signs claim links. Without CLAIM_TOKEN_SECRET
they replay with a key nobody keeps (the links of emails already sent are composed again, then
dropped as sent), and a rebuild that meets an email still to send stops before sending it: a
link under that key would not open.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, NoReturn

import aiosmtplib
from fastapi import FastAPI

from contracts.activity import TOPIC as ACTIVITY_TOPIC
from contracts.badge import TOPIC as BADGE_TOPIC
from contracts.evidence import TOPIC as EVIDENCE_TOPIC
from contracts.notifier import TOPIC
from contracts.tokens import ClaimTokens, ClaimTokenSettings
from services.kernel.entrypoint import main
from services.kernel.http import new_app
from services.kernel.runtime import ServiceRuntime, ServiceSpec
from services.kernel.settings import KernelSettings
from services.notifier.adapters.read_models import CHECKSUM_TABLES, DDL, ReadModels
from services.notifier.adapters.smtp import Mailer
from services.notifier.composer import Compose, composer
from services.notifier.delivery import Courier, SendsMail
from services.notifier.domain.schedule import RetryPolicy
from services.notifier.handlers import build_handlers
from services.notifier.policies import MailPolicies
from services.notifier.rendering import Renderer
from services.notifier.resend import COMMANDS
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

# The commands that only replay: they run without the claim-link secret.
REPLAYS = ("checksum", "rebuild", "verify")


@dataclass(frozen=True)
class Settings:
    """Everything the notifier reads from its environment."""

    kernel: KernelSettings
    notifier: NotifierSettings
    # None: no CLAIM_TOKEN_SECRET, for a command that only replays.
    tokens: ClaimTokenSettings | None

    @classmethod
    def from_environment(cls, command: str) -> Settings:
        replay_only = command in REPLAYS and not os.environ.get("CLAIM_TOKEN_SECRET")
        return cls(
            kernel=KernelSettings(),
            notifier=NotifierSettings(),
            tokens=None if replay_only else ClaimTokenSettings(),
        )


class _SendsNothing:
    """The mailer of a replay without the claim-link secret."""

    async def deliver(self, message: EmailMessage) -> NoReturn:
        # SystemExit, not an error of this record: the record must not be dead-lettered, and the
        # transaction it is applied in rolls back; the service sends it once it runs.
        raise SystemExit(
            f"notifier: an email is still to be sent ({message['Subject']!r} to "
            f"{message['To']}); sending it needs CLAIM_TOKEN_SECRET. Start the service (it "
            "sends what is due), or set CLAIM_TOKEN_SECRET and run this command again."
        )


class NotifierRuntime(ServiceRuntime):
    """The kernel's runtime with the notifier's parts: the consumer's policies and the retry
    schedule share one courier (its SMTP connections, one record of attempts)."""

    def __init__(self, settings: Settings, compose: Compose, mailer: SendsMail) -> None:
        notifier = settings.notifier
        courier = Courier(
            mailer,
            RetryPolicy.of(notifier),
            notifier.smtp_connections,
            notifier.smtp_duplicates_per_crash,
        )
        policies = MailPolicies(compose, courier, ReadModels)
        super().__init__(SPEC, settings.kernel, build_handlers(policies))
        self.notifier_settings = settings.notifier
        self.schedule = RetrySchedule(self, compose, courier, settings.notifier.retry_poll_seconds)


def bootstrap(
    settings: Settings, mailer: SendsMail | None = None, compose: Compose | None = None
) -> NotifierRuntime:
    """The notifier from its settings; a test may give its own mailer and composer."""
    if settings.tokens is None:
        tokens, mailer = ClaimTokens(secrets.token_urlsafe(32)), _SendsNothing()
    else:
        tokens = ClaimTokens.from_settings(settings.tokens)
    compose = compose or composer(
        settings.notifier, tokens, Renderer(settings.notifier.render_processes)
    )
    runtime = NotifierRuntime(settings, compose, mailer or Mailer(settings.notifier))
    runtime.add_readiness_check("smtp", lambda: smtp_answers(settings.notifier))
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
    """Health only; while it serves, the retry schedule runs beside the consumer."""
    app = new_app("Notifier service", "Mails claim links and outcomes. Health only.")
    assert isinstance(runtime, NotifierRuntime)
    schedule = runtime.schedule
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
                grace = runtime.notifier_settings.smtp_timeout_seconds + 5
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(task, grace)

    app.router.lifespan_context = with_retry_schedule
    return app


def run(argv: list[str]) -> int:
    """`python -m services.notifier serve|rebuild|checksum|verify|resend-failed`."""
    command = argv[0] if argv else ""
    built: list[NotifierRuntime] = []

    def runtime() -> NotifierRuntime:
        # Read once the command line is understood (`--help` needs no settings).
        built.append(bootstrap(Settings.from_environment(command)))
        return built[0]

    def address() -> tuple[str, int]:
        settings = built[0].notifier_settings
        return settings.http_host, settings.http_port

    return main(runtime, build_app, address, extra=dict(COMMANDS), argv=argv)
