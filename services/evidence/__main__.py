"""`python -m services.evidence serve|rebuild|checksum`."""

from __future__ import annotations

import sys

from services.evidence.app import build_app, build_runtime
from services.evidence.settings import EvidenceSettings
from services.kernel.entrypoint import main


def _address() -> tuple[str, int]:
    settings = EvidenceSettings()
    return settings.http_host, settings.http_port


if __name__ == "__main__":
    sys.exit(main(build_runtime, build_app, _address))
