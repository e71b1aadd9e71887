"""The mailer makes one attempt per call and, once the server proved unreachable, defers
emails without trying for a while: an outage costs no connection timeout per email."""

from __future__ import annotations

import socket
from email.message import EmailMessage

from services.notifier.adapters.smtp import Mailer
from services.notifier.settings import NotifierSettings


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", "Hi"
    message.set_content("Hello")
    return message


async def test_an_unreachable_server_pauses_attempts_and_each_is_transient() -> None:
    settings = NotifierSettings(smtp_port=_closed_port(), smtp_outage_pause_seconds=30)
    mailer = Mailer(settings)
    first = await mailer.deliver(_message())
    assert not first.sent and not first.permanent and "not tried" not in first.error
    second = await mailer.deliver(_message())
    assert not second.sent and not second.permanent
    assert second.error.startswith("not tried: the server is away")


async def test_without_a_pause_every_call_tries_the_server() -> None:
    mailer = Mailer(NotifierSettings(smtp_port=_closed_port(), smtp_outage_pause_seconds=0))
    for _ in range(2):
        delivery = await mailer.deliver(_message())
        assert not delivery.sent and "not tried" not in delivery.error
