"""`python -m services.notifier serve|rebuild|checksum|resend-failed`."""

from __future__ import annotations

import sys

from services.kernel.entrypoint import main
from services.notifier.app import build_app, build_runtime
from services.notifier.resend import COMMANDS
from services.notifier.settings import NotifierSettings

if __name__ == "__main__":
    settings = NotifierSettings()
    sys.exit(
        main(
            build_runtime,
            build_app,
            lambda: (settings.http_host, settings.http_port),
            extra=dict(COMMANDS),
        )
    )
