"""The evidence service's one composition root: reads its settings once and wires the runtime
(quests, submissions and reviews; what it learns from the badge and activity services) and
its HTTP app.

`checksum`, `rebuild` and `verify` read the logs and the read models: they need Kafka,
PostgreSQL and the namespace. The session secret only signs learners' cookies, which only
`serve` sets, and claim tokens are read only by `serve`.
"""

from __future__ import annotations

import os
import secrets

from fastapi import FastAPI

from contracts.activity import TOPIC as ACTIVITY_TOPIC
from contracts.badge import TOPIC as BADGE_TOPIC
from contracts.evidence import TOPIC
from contracts.tokens import ClaimTokens, ClaimTokenSettings
from services.evidence.adapters.files import EvidenceFiles
from services.evidence.adapters.read_models import CHECKSUM_TABLES, DDL
from services.evidence.entrypoints.http import build_app as build_http
from services.evidence.entrypoints.sessions import Sessions
from services.evidence.entrypoints.web import EvidenceWeb
from services.evidence.handlers import build_handlers
from services.evidence.settings import EvidenceSettings
from services.kernel import entrypoint
from services.kernel.runtime import ServiceRuntime, ServiceSpec
from services.kernel.settings import KernelSettings

SPEC = ServiceSpec(
    name="evidence",
    own_topic=TOPIC,
    input_topics=(BADGE_TOPIC, ACTIVITY_TOPIC),
    ddl=DDL,
    checksum_tables=CHECKSUM_TABLES,
)

# Commands that never set a session cookie.
OFFLINE_COMMANDS = ("checksum", "rebuild", "verify")


def read_settings(command: str) -> EvidenceSettings:
    if command in OFFLINE_COMMANDS and not os.environ.get("EVIDENCE_SESSION_SECRET"):
        # The settings' other fields (the public URL derived events carry) still come from the
        # environment; the secret is a value nobody keeps, since nothing is signed with it.
        return EvidenceSettings(session_secret=secrets.token_urlsafe(32))
    return EvidenceSettings()


def build_runtime(kernel: KernelSettings, settings: EvidenceSettings) -> ServiceRuntime:
    handlers = build_handlers(settings.public_url)
    return ServiceRuntime(SPEC, kernel, handlers)


def build_app(runtime: ServiceRuntime, settings: EvidenceSettings, tokens: ClaimTokens) -> FastAPI:
    files = EvidenceFiles(settings.blob_dir)
    # Uploads a crash left half-done: no request takes an hour.
    files.remove_stale_uploads()
    web = EvidenceWeb(
        runtime=runtime,
        public_url=settings.public_url,
        badge_public_url=settings.badge_public_url,
        files=files,
        tokens=tokens,
        sessions=Sessions(settings.session_key_ring, secure=settings.secure_cookies),
        activity_public_url=settings.activity_public_url,
        invitations_per_sender=settings.invitations_per_sender,
        invitations_per_address=settings.invitations_per_address,
    )
    return build_http(web)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    settings = read_settings(command)
    runtime = build_runtime(KernelSettings(), settings)

    def app(runtime: ServiceRuntime) -> FastAPI:
        return build_app(runtime, settings, ClaimTokens.from_settings(ClaimTokenSettings()))

    return entrypoint.main(
        lambda: runtime, app, lambda: (settings.http_host, settings.http_port), argv=argv
    )
