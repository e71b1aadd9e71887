"""Wires the evidence service: quests, submissions and reviews; what it learns from the badge
and activity services; its pages and API."""

from __future__ import annotations

from fastapi import FastAPI

from contracts.activity import TOPIC as ACTIVITY_TOPIC
from contracts.badge import TOPIC as BADGE_TOPIC
from contracts.evidence import TOPIC
from contracts.tokens import ClaimTokens, ClaimTokenSettings
from services.evidence.adapters.files import EvidenceFiles
from services.evidence.adapters.read_models import CHECKSUM_TABLES, DDL
from services.evidence.entrypoints.http import build_app as build_http
from services.evidence.handlers import build_handlers
from services.evidence.settings import EvidenceSettings
from services.kernel.runtime import ServiceRuntime, ServiceSpec
from services.kernel.settings import KernelSettings

SPEC = ServiceSpec(
    name="evidence",
    own_topic=TOPIC,
    input_topics=(BADGE_TOPIC, ACTIVITY_TOPIC),
    ddl=DDL,
    checksum_tables=CHECKSUM_TABLES,
)


def build_runtime(
    settings: KernelSettings | None = None, evidence_settings: EvidenceSettings | None = None
) -> ServiceRuntime:
    public_url = (evidence_settings or EvidenceSettings()).public_url
    return ServiceRuntime(SPEC, settings or KernelSettings(), lambda _: build_handlers(public_url))


def build_app(runtime: ServiceRuntime) -> FastAPI:
    settings = EvidenceSettings()
    tokens = ClaimTokens.from_settings(ClaimTokenSettings())
    files = EvidenceFiles(settings.blob_dir)
    # Uploads a crash left half-done: no request takes an hour.
    files.remove_stale_uploads()
    return build_http(
        runtime,
        settings.public_url,
        files,
        tokens,
        settings.session_key_ring,
        badge_public_url=settings.badge_public_url,
        secure_cookies=settings.secure_cookies,
    )
