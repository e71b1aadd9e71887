"""Reads what the real SMTP server received: the mailbox folder of deploy/local/mailbox.py."""

from __future__ import annotations

import email
import email.parser
import email.policy
import json
import re
import time
from email.message import EmailMessage
from pathlib import Path

LINK = re.compile(r"https?://\S+/claim/[A-Za-z0-9_-]+")


# Message file -> its recipients, read once from the mailbox's side files (the folder grows to
# thousands of messages over a test run; parsing them all on every poll would crawl).
_RECIPIENTS: dict[Path, list[str]] = {}


def _recipients(mailbox: Path) -> dict[Path, list[str]]:
    for side in mailbox.glob("*.json"):
        message = side.with_suffix(".eml")
        if message not in _RECIPIENTS and message.exists():
            _RECIPIENTS[message] = [r.lower() for r in json.loads(side.read_text())["rcpt_tos"]]
    return _RECIPIENTS


def messages_to(mailbox: Path, recipient: str) -> list[EmailMessage]:
    found = []
    for path, recipients in sorted(_recipients(mailbox).items()):
        if path.parent == mailbox and recipient.lower() in recipients:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, EmailMessage)
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


def offer_ids_mailed(mailbox: Path, domain: str) -> list[str]:
    """The X-Badge-Offer header of every message to an address at `domain`, one per message."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    found = []
    for path, recipients in sorted(_recipients(mailbox).items()):
        if path.parent != mailbox or not any(r.endswith("@" + domain) for r in recipients):
            continue
        with path.open("rb") as handle:
            headers = parser.parse(handle)
        if headers["X-Badge-Offer"]:
            found.append(str(headers["X-Badge-Offer"]))
    return found


def html_body(message: EmailMessage) -> str:
    html = message.get_body(("html",))
    assert html is not None, "no HTML part"
    content: str = html.get_content()
    return content


def plain_body(message: EmailMessage) -> str:
    text = message.get_body(("plain",))
    assert text is not None, "no text part"
    content: str = text.get_content()
    return content


def first_match(pattern: re.Pattern[str], text: str, group: int = 0) -> str:
    found = pattern.search(text)
    assert found is not None, f"nothing matches {pattern.pattern}"
    return found.group(group)
