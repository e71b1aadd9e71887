"""One person's inbox in the test mailbox: waits for their next email with a link into a given
address, whatever its subject says (the wording of emails is not what these walks test)."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path

from tests.support_mail import messages_to


class Inbox:
    def __init__(self, mailbox: Path | None, address: str) -> None:
        assert mailbox is not None, "the browser tests need MAILBOX_DIR to read the mail"
        self.mailbox = mailbox
        self.address = address
        self.read = 0

    async def next(self, *link_to: str, timeout: float = 60.0) -> EmailMessage:
        """The first email not read yet that links into one of the addresses `link_to`; the
        ones before it are passed over (read)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            messages = messages_to(self.mailbox, self.address)
            for index in range(self.read, len(messages)):
                text = _text(messages[index])
                if any(address in text for address in link_to):
                    self.read = index + 1
                    return messages[index]
            if loop.time() > deadline:
                subjects = [str(m["Subject"]) for m in messages[self.read :]]
                raise AssertionError(
                    f"no email to {self.address} with a link to {link_to} within {timeout}s "
                    f"(unread: {subjects})"
                )
            await asyncio.sleep(0.2)


def _text(message: EmailMessage) -> str:
    found = []
    for kind in ("plain", "html"):
        part = message.get_body((kind,))
        if part is not None:
            found.append(str(part.get_content()))
    return "\n".join(found)
