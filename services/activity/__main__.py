"""`python -m services.activity serve|rebuild|checksum|bootstrap|organisers|keys|revoke-key|
issue-key|remove-organiser|make-admin`."""

from __future__ import annotations

import sys

from services.activity.app import build_runtime
from services.activity.commands import COMMANDS
from services.activity.entrypoints.http import build_app
from services.activity.settings import ActivitySettings
from services.kernel.entrypoint import main


def _address() -> tuple[str, int]:
    settings = ActivitySettings()
    return settings.http_host, settings.http_port


if __name__ == "__main__":
    sys.exit(
        main(
            build_runtime,
            build_app,
            _address,
            extra=COMMANDS,
        )
    )
