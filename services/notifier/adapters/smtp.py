"""Sends messages through the configured SMTP server over up to NOTIFIER_SMTP_CONNECTIONS
kept-open connections, one attempt per message: whether and when to try again is the retry
schedule's business.

An attempt comes in steps. `prepare` takes a connection and names the sender and recipient,
so several messages are on their way at once. `begin_transfer` sends the message (DATA), all
but the line that ends it (`.`); `commit` sends that line (transferring first, if that has not
begun) and reads the server's answer: only then has the server accepted the message. The
courier commits one message at a time and records it in Kafka before the next commit, so
however many connections carry messages, at most one is ever accepted and not yet recorded;
it begins the next message's transfer while Kafka acknowledges the record, so the server
takes that message in then, not while the next last line waits for its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiosmtplib.email import extract_recipients, extract_sender, flatten_message

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
_FAILURES = (aiosmtplib.SMTPException, OSError, TimeoutError)
# How long a prepared message waits for its last line before its connection is closed.
EXPIRY_SECONDS = 60.0
_LINE_ENDINGS = re.compile(rb"\r\n|\r|\n")
_LEADING_PERIOD = re.compile(rb"(?m)^\.")


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


def _data_lines(flat: bytes) -> bytes:
    """The message as DATA carries it: CRLF line endings, leading periods doubled, ending
    with a line break (the terminating `.` line is the commit's)."""
    data = _LINE_ENDINGS.sub(b"\r\n", flat)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return _LEADING_PERIOD.sub(b"..", data)


def _needs_utf8(sender: str, recipients: list[str]) -> bool:
    """Whether the envelope's addresses need SMTPUTF8 (and the headers may be raw UTF-8)."""
    return not (sender + "".join(recipients)).isascii()


class FlatMessage(EmailMessage):
    """A message flattened where it was rendered (a worker process): the lines DATA carries,
    ready, and the few headers the notifier reads (From, To, Subject); nothing else of the
    message is kept. It comes back from the worker as a few bytes to unpickle, not a tree of
    parts and headers, and leaves nothing to flatten on the event loop.

    `data` is the message with 8-bit parts as they are (for a server that takes 8BITMIME);
    `seven_bit` the same re-encoded to 7 bits, or None when `data` is 7-bit already."""

    def __init__(
        self,
        sender: str,
        recipients: list[str],
        headers: dict[str, str],
        data: bytes,
        seven_bit: bytes | None,
    ) -> None:
        super().__init__()
        self.sender = sender
        self.recipients = recipients
        self.flat_headers = {name.lower(): value for name, value in headers.items()}
        self.data = data
        self.seven_bit = seven_bit

    @classmethod
    def of(cls, message: EmailMessage) -> FlatMessage:
        sender = extract_sender(message)
        recipients = extract_recipients(message)
        if sender is None or not recipients:
            raise ValueError("the message names no sender or no recipient")
        utf8 = _needs_utf8(sender, recipients)
        data = _data_lines(flatten_message(message, utf8=utf8, cte_type="8bit"))
        seven_bit = None
        if not data.isascii():
            seven_bit = _data_lines(flatten_message(message, utf8=utf8, cte_type="7bit"))
        headers = {
            name: str(message[name]) for name in ("From", "To", "Subject") if name in message
        }
        return cls(sender, recipients, headers, data, seven_bit)

    def __getitem__(self, name: str) -> Any:
        return self.flat_headers.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self.flat_headers

    def get(self, name: str, failobj: Any = None) -> Any:
        return self.flat_headers.get(name.lower(), failobj)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            FlatMessage,
            (self.sender, self.recipients, self.flat_headers, self.data, self.seven_bit),
        )


class Prepared:
    """A message on its connection, waiting for its last line; or an attempt that ended
    already (a refusal, an unreachable server), whose outcome `commit` returns."""

    def __init__(
        self,
        mailer: Mailer,
        client: aiosmtplib.SMTP | None,
        outcome: Delivery | None = None,
        data: bytes = b"",
    ) -> None:
        self._mailer = mailer
        self._client = client
        self._outcome = outcome
        self._data = data
        self._transfer: asyncio.Task[None] | None = None
        self._done = False
        # A message left waiting (its unit of work failed before committing it) lets its
        # connection go by itself: the server drops the message, nothing was sent. Servers
        # wait ten minutes for the end of DATA (RFC 5321 4.5.3.2.6); a minute is plenty here.
        self._expiry = (
            asyncio.get_running_loop().call_later(EXPIRY_SECONDS, self.abort)
            if client is not None
            else None
        )

    def begin_transfer(self) -> None:
        """Send the message, all but its last line, while the caller does something else."""
        if self._transfer is None and not self._done and self._client is not None:
            self._transfer = asyncio.create_task(self._send_data(self._client))

    async def _send_data(self, client: aiosmtplib.SMTP) -> None:
        try:
            started = await client.execute_command(b"DATA")
            if started.code != 354:
                raise aiosmtplib.SMTPDataError(started.code, started.message)
            assert client.protocol is not None
            client.protocol.write(self._data)
        except _FAILURES as failure:
            if self._done:
                return  # let go meanwhile: its connection is closed already
            self._finish()
            self._outcome = await self._mailer.failed(client, failure)

    async def commit(self) -> Delivery:
        """Send the last line: the server accepts the message, or says why not."""
        self.begin_transfer()
        if self._transfer is not None:
            await self._transfer
        if self._done:
            return self._outcome or Delivery(sent=False, error="not sent: the attempt expired")
        self._finish()
        client = self._client
        if client is None:
            assert self._outcome is not None
            return self._outcome
        try:
            answer = await client.execute_command(b".")
            if answer.code != 250:
                raise aiosmtplib.SMTPDataError(answer.code, answer.message)
        except _FAILURES as failure:
            return await self._mailer.failed(client, failure)
        self._mailer.release(client)
        return Delivery(sent=True)

    def abort(self) -> None:
        """Give up before the last line: the server drops the message; nothing was sent."""
        if self._done:
            return
        self._finish()
        if self._transfer is not None:
            self._transfer.cancel()
        if self._client is not None:
            self._mailer.discard(self._client)

    def _finish(self) -> None:
        self._done = True
        if self._expiry is not None:
            self._expiry.cancel()


class Mailer:
    def __init__(self, settings: NotifierSettings) -> None:
        self.settings = settings
        self._idle: list[aiosmtplib.SMTP] = []
        # One message per connection; the consumer and the retry schedule share them.
        self._slots = asyncio.Semaphore(settings.smtp_connections)
        # While the server is known to be unreachable: until when, and why.
        self._paused_until = 0.0
        self._outage = ""
        self._outages = 0

    async def _connected(self) -> aiosmtplib.SMTP:
        while self._idle:
            client = self._idle.pop()
            if client.is_connected:
                return client
        s = self.settings
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
        if client.last_ehlo_response is None:
            # The server's extensions decide how the message is sent; a server that knows no
            # EHLO is greeted with HELO by the first command.
            with contextlib.suppress(aiosmtplib.SMTPHeloError):
                await client.ehlo()
        return client

    async def deliver(self, message: EmailMessage) -> Delivery:
        """One whole attempt. Never raises for SMTP trouble; says whether it may pass later."""
        prepared = await self.prepare(message)
        return await prepared.commit()

    async def prepare(self, message: EmailMessage) -> Prepared:
        """All of an attempt but the last line (see the module's note). Never raises for SMTP
        trouble: an attempt that ended already is a Prepared holding its outcome."""
        if time.monotonic() < self._paused_until:
            return self._ended(f"not tried: the server is away ({self._outage})")
        await self._slots.acquire()
        client: aiosmtplib.SMTP | None = None
        try:
            client = await self._connected()
            data = await self._envelope(client, message)
        except _FAILURES as failure:
            if client is None:
                self._slots.release()
                return Prepared(self, None, self._unreachable(failure))
            return Prepared(self, None, await self.failed(client, failure))
        except BaseException:
            if client is not None:
                self.discard(client)
            else:
                self._slots.release()
            raise
        return Prepared(self, client, data=data)

    async def _envelope(self, client: aiosmtplib.SMTP, message: EmailMessage) -> bytes:
        """Names the sender and the recipients; the message as DATA will carry it."""
        flat = message if isinstance(message, FlatMessage) else None
        if flat is not None:
            sender, recipients = flat.sender, flat.recipients
        else:
            found_sender, recipients = extract_sender(message), extract_recipients(message)
            if found_sender is None or not recipients:
                raise ValueError("the message names no sender or no recipient")
            sender = found_sender
        options: list[str] = []
        eight_bit = client.supports_extension("8BITMIME")
        if eight_bit:
            options.append("BODY=8BITMIME")
        utf8 = _needs_utf8(sender, recipients)
        if utf8:
            options.append("SMTPUTF8")
        if flat is None:
            cte = "8bit" if eight_bit else "7bit"
            data = _data_lines(flatten_message(message, utf8=utf8, cte_type=cte))
        elif eight_bit or flat.seven_bit is None:
            data = flat.data
        else:
            data = flat.seven_bit
        if client.supports_extension("size"):
            options.insert(0, f"SIZE={len(data)}")
        encoding = "utf-8" if utf8 else "ascii"
        await client.mail(sender, options=options, encoding=encoding)
        refused = []
        for recipient in recipients:
            try:
                await client.rcpt(recipient, encoding=encoding)
            except aiosmtplib.SMTPRecipientRefused as refusal:
                refused.append(refusal)
        if len(refused) == len(recipients):
            raise aiosmtplib.SMTPRecipientsRefused(refused)
        return data

    def _ended(self, error: str) -> Prepared:
        return Prepared(self, None, Delivery(sent=False, error=error))

    def _unreachable(self, failure: Exception) -> Delivery:
        if _permanent(failure):
            return Delivery(sent=False, permanent=True, error=_described(failure))
        if not isinstance(failure, _MESSAGE_REFUSALS):
            # Each failed probe of a server still away doubles the pause (up to a minute), so
            # a server that hangs costs one connection timeout now and then, not one per email.
            self._outages += 1
            pause = self.settings.smtp_outage_pause_seconds * 2 ** min(self._outages - 1, 5)
            self._outage = _described(failure)
            self._paused_until = time.monotonic() + min(pause, 60.0)
            log.warning("SMTP server unreachable (%s)", self._outage)
        return Delivery(sent=False, error=_described(failure))

    async def failed(self, client: aiosmtplib.SMTP, failure: Exception) -> Delivery:
        """An attempt that failed on its connection: the connection is let go."""
        self._slots.release()
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()
        return self._unreachable(failure)

    def release(self, client: aiosmtplib.SMTP) -> None:
        """A message accepted: its connection carries the next one."""
        self._paused_until = 0.0
        self._outages = 0
        self._idle.append(client)
        self._slots.release()

    def discard(self, client: aiosmtplib.SMTP) -> None:
        client.close()
        self._slots.release()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()
