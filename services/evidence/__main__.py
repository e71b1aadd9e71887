"""`python -m services.evidence serve|rebuild|checksum`."""

from __future__ import annotations

import sys

from services.evidence.app import EvidenceSettings, build_app, build_runtime
from services.kernel.entrypoint import main

if __name__ == "__main__":
    settings = EvidenceSettings()
    sys.exit(main(build_runtime, build_app, lambda: (settings.http_host, settings.http_port)))
