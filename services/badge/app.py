"""The badge service's composition root: its settings are read once, here (or given by a
test), and every part is wired from them: the kernel's runtime with the handlers, and the
HTTP app with its routers."""

from __future__ import annotations

from fastapi import FastAPI

from contracts.activity import TOPIC as ACTIVITY_TOPIC
from contracts.badge import TOPIC
from contracts.evidence import TOPIC as EVIDENCE_TOPIC
from contracts.notifier import TOPIC as NOTIFIER_TOPIC
from contracts.tokens import ClaimTokens, ClaimTokenSettings
from services.badge.adapters.credential_signing import CredentialSigner
from services.badge.adapters.credential_store import CREDENTIAL_DDL, CREDENTIAL_TABLES
from services.badge.adapters.issuer_keys import IssuerKeys
from services.badge.adapters.read_models import CHECKSUM_TABLES, DDL
from services.badge.domain.credentials import CredentialUrls
from services.badge.domain.model import OfferIds
from services.badge.entrypoints.dependencies import BadgeWeb
from services.badge.entrypoints.http import build_app
from services.badge.entrypoints.open_badges import OpenBadgesUrls
from services.badge.handlers import build_handlers
from services.badge.settings import BadgeSettings
from services.kernel.blob_store import BlobStore
from services.kernel.runtime import ServiceRuntime, ServiceSpec
from services.kernel.settings import KernelSettings

SPEC = ServiceSpec(
    name="badge",
    own_topic=TOPIC,
    input_topics=(ACTIVITY_TOPIC, EVIDENCE_TOPIC, NOTIFIER_TOPIC),
    ddl=DDL + CREDENTIAL_DDL,
    checksum_tables=CHECKSUM_TABLES + CREDENTIAL_TABLES,
)


def build_runtime(
    settings: KernelSettings | None = None, badge_settings: BadgeSettings | None = None
) -> ServiceRuntime:
    """The kernel's runtime with the badge service's handlers."""
    badge_settings = badge_settings or BadgeSettings()
    handlers = build_handlers(
        BlobStore(badge_settings.blob_dir), signer=credential_signer(badge_settings)
    )
    return ServiceRuntime(SPEC, settings or KernelSettings(), handlers)


def credential_signer(settings: BadgeSettings) -> CredentialSigner:
    return CredentialSigner(
        CredentialUrls(settings.public_url), IssuerKeys.from_setting(settings.issuer_key_secrets)
    )


def build_web(
    runtime: ServiceRuntime, settings: BadgeSettings, token_settings: ClaimTokenSettings
) -> FastAPI:
    """The HTTP app: the organiser API, the public Open Badges documents, the learner pages."""
    signer = credential_signer(settings)
    if not signer.keys.configured:
        # Serving awards badges, and every award is signed: refuse to start rather than fail
        # at the first claim. (rebuild and checksum read signed credentials from the log.)
        raise SystemExit("BADGE_ISSUER_KEY_SECRETS is required to serve (32+ characters)")
    web = BadgeWeb(
        runtime=runtime,
        urls=OpenBadgesUrls(settings.public_url),
        blobs=BlobStore(settings.blob_dir),
        tokens=ClaimTokens.from_settings(token_settings),
        offer_ids=OfferIds(token_settings.claim_token_secret),
        evidence_public_url=settings.evidence_public_url,
        credentials=signer,
    )
    return build_app(web)
