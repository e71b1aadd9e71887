"""Wires the evidence service. Quests and reviews arrive in a later release; today it keeps
the quests it is told about and is wired to the kernel like every service."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts import Envelope
from contracts.badge import TOPIC as BADGE_TOPIC
from contracts.evidence import TOPIC, QuestStarted
from services.kernel.http import new_app
from services.kernel.runtime import ServiceRuntime, ServiceSpec
from services.kernel.settings import KernelSettings
from services.kernel.unit_of_work import HandlerMap, UnitOfWork

DDL = """
CREATE TABLE IF NOT EXISTS quests (
    quest_id uuid PRIMARY KEY,
    badge_class_id uuid NOT NULL,
    learner_email text NOT NULL,
    started_at timestamptz NOT NULL
);
"""

SPEC = ServiceSpec(
    name="evidence",
    own_topic=TOPIC,
    input_topics=(BADGE_TOPIC,),
    ddl=DDL,
    checksum_tables=("quests",),
)


class EvidenceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVIDENCE_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8003, ge=1, le=65535)


async def quest_started(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: QuestStarted = envelope.payload
    uow.conn.defer(
        "INSERT INTO quests (quest_id, badge_class_id, learner_email, started_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        event.quest_id,
        event.badge_class_id,
        event.learner_email,
        envelope.occurred_at,
    )


HANDLERS: HandlerMap = {QuestStarted: quest_started}


def build_runtime(settings: KernelSettings | None = None) -> ServiceRuntime:
    return ServiceRuntime(SPEC, settings or KernelSettings(), lambda _: HANDLERS)


def build_app(runtime: ServiceRuntime) -> FastAPI:
    return new_app("Evidence service", "Evidence quests and their reviews.")
