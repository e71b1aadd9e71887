"""Reads what the real SMTP server received: the mailbox folder of deploy/local/mailbox.py."""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage
from pathlib import Path

LINK = re.compile(r"https?://\S+/claim/[A-Za-z0-9_-]+")


def messages_to(mailbox: Path, recipient: str) -> list[EmailMessage]:
    found = []
    for path in sorted(mailbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if recipient.lower() in str(message["To"]).lower():
            found.append(message)
    return found


def wait_for_messages(
    mailbox: Path, recipient: str, count: int = 1, timeout: float = 60.0, subject: str = ""
) -> list[EmailMessage]:
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in messages_to(mailbox, recipient) if subject in str(m["Subject"])]
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(found)} of {count} messages to {recipient} arrived")
        time.sleep(0.1)


def claim_link(message: EmailMessage) -> str:
    text = message.get_body(("plain",))
    assert text is not None
    match = LINK.search(text.get_content())
    assert match, "no claim link in the message"
    return match.group(0)


def inline_qr(message: EmailMessage) -> bytes:
    for part in message.walk():
        if part.get_content_type() == "image/png":
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            return data
    raise AssertionError("no inline QR image")
