"""`python -m services.evidence serve|rebuild|checksum`.

`checksum` and `rebuild` read the logs and the read models: they need Kafka, PostgreSQL and the
namespace. The session secret only signs learners' cookies, which only `serve` sets.
"""

from __future__ import annotations

import os
import secrets
import sys

from services.evidence.app import build_app, build_runtime
from services.evidence.settings import EvidenceSettings
from services.kernel.entrypoint import main
from services.kernel.runtime import ServiceRuntime


def _runtime(command: str) -> ServiceRuntime:
    if command in ("checksum", "rebuild", "verify") and not os.environ.get(
        "EVIDENCE_SESSION_SECRET"
    ):
        # The settings' other fields (the public URL derived events carry) still come from the
        # environment; the secret is a value nobody keeps, since nothing is signed with it.
        return build_runtime(
            evidence_settings=EvidenceSettings(session_secret=secrets.token_urlsafe(32))
        )
    return build_runtime()


def _address() -> tuple[str, int]:
    settings = EvidenceSettings()
    return settings.http_host, settings.http_port


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    sys.exit(main(lambda: _runtime(command), build_app, _address))
