"""Sends messages through the configured SMTP server, over one kept-open connection, one
attempt at a time: whether and when to try again is the retry schedule's business."""

from __future__ import annotations

import asyncio
import logging
import time
from email.message import EmailMessage

import aiosmtplib

from services.notifier.domain.attempts import Delivery
from services.notifier.settings import NotifierSettings

log = logging.getLogger(__name__)

# A refusal of this one message (its recipient, sender or content), as opposed to a server
# that cannot be reached at all.
_MESSAGE_REFUSALS = (
    aiosmtplib.SMTPRecipientsRefused,
    aiosmtplib.SMTPRecipientRefused,
    aiosmtplib.SMTPSenderRefused,
    aiosmtplib.SMTPDataError,
)


def _permanent(error: Exception) -> bool:
    """A 5xx refusal of this message will not change by trying again. Everything else (no
    connection, a refused login, a 4xx) is an outage or a setting to fix, and may pass."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(500 <= refusal.code < 600 for refusal in error.recipients)
    if isinstance(
        error,
        aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPSenderRefused | aiosmtplib.SMTPDataError,
    ):
        return 500 <= error.code < 600
    return False


def _described(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


class Mailer:
    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None
        # While the server is known to be unreachable: until when, and why.
        self._paused_until = 0.0
        self._outage = ""
        self._outages = 0
        # The consumer and the retry schedule share the one connection, one message at a time.
        self._lock = asyncio.Lock()

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
        """One attempt. Never raises for SMTP trouble; says whether it may pass later."""
        async with self._lock:
            return await self._deliver(message)

    async def _deliver(self, message: EmailMessage) -> Delivery:
        if time.monotonic() < self._paused_until:
            return Delivery(sent=False, error=f"not tried: the server is away ({self._outage})")
        try:
            client = await self._connected()
            await client.send_message(message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as failure:
            await self._drop()
            if _permanent(failure):
                return Delivery(sent=False, permanent=True, error=_described(failure))
            if not isinstance(failure, _MESSAGE_REFUSALS):
                # Each failed probe of a server still away doubles the pause (up to a minute),
                # so a server that hangs costs one connection timeout now and then, not one per
                # email.
                self._outages += 1
                pause = self._settings.smtp_outage_pause_seconds * 2 ** min(self._outages - 1, 5)
                self._outage = _described(failure)
                self._paused_until = time.monotonic() + min(pause, 60.0)
                log.warning("SMTP server unreachable (%s)", self._outage)
            return Delivery(sent=False, error=_described(failure))
        self._paused_until = 0.0
        self._outages = 0
        return Delivery(sent=True)

    async def close(self) -> None:
        await self._drop()
