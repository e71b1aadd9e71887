"""`python -m services.badge serve|rebuild|checksum`."""

from __future__ import annotations

import sys

from fastapi import FastAPI

from contracts.tokens import ClaimTokens, ClaimTokenSettings
from services.badge.app import build_runtime
from services.badge.domain.model import OfferIds
from services.badge.entrypoints.http import build_app
from services.badge.entrypoints.open_badges import OpenBadgesUrls
from services.badge.entrypoints.pages import add_pages
from services.badge.settings import BadgeSettings
from services.kernel.blob_store import BlobStore
from services.kernel.entrypoint import main
from services.kernel.runtime import ServiceRuntime

settings = BadgeSettings()


def _app(runtime: ServiceRuntime) -> FastAPI:
    token_settings = ClaimTokenSettings()
    tokens = ClaimTokens.from_settings(token_settings)
    blobs = BlobStore(settings.blob_dir)
    app = build_app(
        runtime, settings.public_url, blobs, tokens, OfferIds(token_settings.claim_token_secret)
    )
    add_pages(
        app, runtime, OpenBadgesUrls(settings.public_url), tokens, settings.evidence_public_url
    )
    return app


if __name__ == "__main__":
    sys.exit(
        main(
            lambda: build_runtime(badge_settings=settings),
            _app,
            lambda: (settings.http_host, settings.http_port),
        )
    )
