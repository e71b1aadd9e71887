"""Wires the notifier service. It mails claim links in a later release; today it records the
emails it is told about and is wired to the kernel like every service."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts import Envelope
from contracts.badge import TOPIC as BADGE_TOPIC
from contracts.evidence import TOPIC as EVIDENCE_TOPIC
from contracts.notifier import TOPIC, EmailFailed, EmailSent
from services.kernel.http import new_app
from services.kernel.runtime import ServiceRuntime, ServiceSpec
from services.kernel.settings import KernelSettings
from services.kernel.unit_of_work import HandlerMap, UnitOfWork

DDL = """
CREATE TABLE IF NOT EXISTS emails (
    cause_event_id uuid PRIMARY KEY,
    recipient text NOT NULL,
    status text NOT NULL,
    detail text NOT NULL,
    attempts integer NOT NULL,
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


class NotifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFIER_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8004, ge=1, le=65535)


async def email_recorded(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: EmailSent | EmailFailed = envelope.payload
    sent = isinstance(event, EmailSent)
    uow.conn.defer(
        "INSERT INTO emails (cause_event_id, recipient, status, detail, attempts, recorded_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (cause_event_id) DO UPDATE SET "
        "status = EXCLUDED.status, detail = EXCLUDED.detail, attempts = EXCLUDED.attempts, "
        "recorded_at = EXCLUDED.recorded_at",
        event.cause_event_id,
        event.recipient,
        "sent" if sent else "failed",
        event.subject if isinstance(event, EmailSent) else event.reason,
        event.attempts,
        envelope.occurred_at,
    )


HANDLERS: HandlerMap = {EmailSent: email_recorded, EmailFailed: email_recorded}


def build_runtime(settings: KernelSettings | None = None) -> ServiceRuntime:
    return ServiceRuntime(SPEC, settings or KernelSettings(), lambda _: HANDLERS)


def build_app(runtime: ServiceRuntime) -> FastAPI:
    return new_app("Notifier service", "Mails claim links and outcomes. Health only.")
