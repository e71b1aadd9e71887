"""Sends messages through the configured SMTP server, over one kept-open connection,
retrying what may pass later and giving up at once on what never will."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib

from services.notifier.settings import NotifierSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    sent: bool
    attempts: int
    error: str = ""


def _permanent(error: Exception) -> bool:
    """A 5xx refusal of this message (its recipient, sender or content) will not change by
    trying again. Everything else (no connection, a refused login, a 4xx) is an outage or a
    setting to fix, and is tried again."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(500 <= refusal.code < 600 for refusal in error.recipients)
    if isinstance(
        error,
        aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPSenderRefused | aiosmtplib.SMTPDataError,
    ):
        return 500 <= error.code < 600
    return False


class Mailer:
    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            timeout=s.smtp_timeout_seconds,
        )
        await client.connect()
        if s.smtp_username:
            await client.login(s.smtp_username, s.smtp_password or "")
        self._client = client
        return client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()

    async def deliver(self, message: EmailMessage) -> Delivery:
        s = self._settings
        error: Exception | None = None
        for attempt in range(1, s.smtp_attempts + 1):
            try:
                client = await self._connected()
                await client.send_message(message)
                return Delivery(sent=True, attempts=attempt)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as failure:
                error = failure
                await self._drop()
                if _permanent(failure):
                    return Delivery(sent=False, attempts=attempt, error=str(failure))
                if attempt < s.smtp_attempts:
                    delay = s.smtp_backoff_seconds * 2 ** (attempt - 1)
                    log.warning(
                        "SMTP attempt %d failed (%s); again in %.1fs", attempt, failure, delay
                    )
                    await asyncio.sleep(delay)
        return Delivery(
            sent=False, attempts=s.smtp_attempts, error=f"{type(error).__name__}: {error}"
        )

    async def close(self) -> None:
        await self._drop()
