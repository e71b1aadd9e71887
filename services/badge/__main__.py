"""`python -m services.badge serve|rebuild|checksum`."""

from __future__ import annotations

import sys

from fastapi import FastAPI

from services.badge.adapters.blob_store import BlobStore
from services.badge.app import build_runtime
from services.badge.entrypoints.http import build_app
from services.badge.settings import BadgeSettings
from services.kernel.entrypoint import main
from services.kernel.runtime import ServiceRuntime

settings = BadgeSettings()


def _app(runtime: ServiceRuntime) -> FastAPI:
    return build_app(runtime, settings.public_url, BlobStore(settings.blob_dir))


if __name__ == "__main__":
    sys.exit(
        main(
            lambda: build_runtime(badge_settings=settings),
            _app,
            lambda: (settings.http_host, settings.http_port),
        )
    )
