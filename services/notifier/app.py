"""Wires the notifier: it mails claim links and award confirmations, and records each email
as EmailSent or EmailFailed. Its HTTP face is health only."""

from __future__ import annotations

import aiosmtplib
from fastapi import FastAPI

from contracts.badge import TOPIC as BADGE_TOPIC
from contracts.evidence import TOPIC as EVIDENCE_TOPIC
from contracts.notifier import TOPIC
from services.kernel.claim_tokens import ClaimTokens, ClaimTokenSettings
from services.kernel.http import new_app
from services.kernel.runtime import ServiceRuntime, ServiceSpec
from services.kernel.settings import KernelSettings
from services.notifier.adapters.smtp import Mailer
from services.notifier.handlers import build_handlers
from services.notifier.settings import NotifierSettings

DDL = """
CREATE TABLE IF NOT EXISTS emails (
    email_id uuid PRIMARY KEY,
    cause_event_id uuid NOT NULL,
    kind text NOT NULL,
    recipient text NOT NULL,
    status text NOT NULL,
    detail text NOT NULL,
    attempts integer NOT NULL,
    offer_id uuid,
    recorded_at timestamptz NOT NULL
);
"""

SPEC = ServiceSpec(
    name="notifier",
    own_topic=TOPIC,
    input_topics=(BADGE_TOPIC, EVIDENCE_TOPIC),
    ddl=DDL,
    checksum_tables=("emails",),
)


def build_runtime(
    settings: KernelSettings | None = None, notifier_settings: NotifierSettings | None = None
) -> ServiceRuntime:
    notifier = notifier_settings or NotifierSettings()
    tokens = ClaimTokens(ClaimTokenSettings().claim_token_secret)
    mailer = Mailer(notifier)
    runtime = ServiceRuntime(
        SPEC, settings or KernelSettings(), lambda _: build_handlers(notifier, mailer, tokens)
    )
    runtime.add_readiness_check("smtp", lambda: smtp_answers(notifier))
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
    return new_app("Notifier service", "Mails claim links and outcomes. Health only.")
