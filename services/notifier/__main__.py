"""`python -m services.notifier serve|rebuild|checksum|resend-failed`.

`checksum` and `rebuild` read the logs and the read models: they need Kafka, PostgreSQL and the
namespace, not the secret that signs claim links. Without CLAIM_TOKEN_SECRET they replay with a
key nobody keeps (the links of emails already sent are composed again, then dropped as sent),
and a rebuild that meets an email still to send stops before sending it: a link under that key
would not open.
"""

from __future__ import annotations

import os
import secrets
import sys
from email.message import EmailMessage
from typing import NoReturn

from contracts.tokens import ClaimTokens
from services.kernel.entrypoint import main
from services.kernel.runtime import ServiceRuntime
from services.notifier.adapters.smtp import Mailer
from services.notifier.app import build_app, build_runtime
from services.notifier.resend import COMMANDS
from services.notifier.settings import NotifierSettings


class _SendsNothing(Mailer):
    """The mailer of a replay without the claim-link secret."""

    async def deliver(self, message: EmailMessage) -> NoReturn:
        # SystemExit, not an error of this record: the record must not be dead-lettered, and the
        # transaction it is applied in rolls back; the service sends it once it runs.
        raise SystemExit(
            f"notifier: an email is still to be sent ({message['Subject']!r} to "
            f"{message['To']}); sending it needs CLAIM_TOKEN_SECRET. Start the service (it "
            "sends what is due), or set CLAIM_TOKEN_SECRET and run this command again."
        )


def _runtime(command: str) -> ServiceRuntime:
    if command in ("checksum", "rebuild", "verify") and not os.environ.get("CLAIM_TOKEN_SECRET"):
        settings = NotifierSettings()
        unkept = ClaimTokens(secrets.token_urlsafe(32))
        return build_runtime(
            notifier_settings=settings, tokens=unkept, mailer=_SendsNothing(settings)
        )
    return build_runtime()


if __name__ == "__main__":
    settings = NotifierSettings()
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    sys.exit(
        main(
            lambda: _runtime(command),
            build_app,
            lambda: (settings.http_host, settings.http_port),
            extra=dict(COMMANDS),
        )
    )
