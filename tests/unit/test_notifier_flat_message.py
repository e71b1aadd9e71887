"""A message flattened in the render worker (FlatMessage): it carries the lines DATA sends, a
7-bit form when its parts are not 7-bit already, and the headers the notifier reads; it comes
back from the worker as a few bytes."""

from __future__ import annotations

import email
import email.policy
import pickle
from email.message import EmailMessage

import pytest

from services.notifier.adapters.smtp import FlatMessage
from services.notifier.rendering import _rendered_flat


def _message(body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Riverside <badges@example.org>"
    message["To"] = "ada@example.org"
    message["Subject"] = "A badge for you"
    message.set_content(body)
    message.add_alternative(f"<p>{body}</p>", subtype="html")
    return message


def _parsed(data: bytes) -> EmailMessage:
    unstuffed = data.replace(b"\r\n..", b"\r\n.").replace(b"\r\n", b"\n")
    found = email.message_from_bytes(unstuffed, policy=email.policy.default)
    assert isinstance(found, EmailMessage)
    return found


def test_the_flattened_message_reads_back_as_the_message() -> None:
    flat = FlatMessage.of(_message("Hello\n.a line that starts with a period"))
    assert flat.sender == "badges@example.org" and flat.recipients == ["ada@example.org"]
    assert flat["To"] == "ada@example.org" and flat["subject"] == "A badge for you"
    assert flat["X-Missing"] is None and "From" in flat and "Cc" not in flat
    assert flat.data.endswith(b"\r\n") and b"\r\n..a line" in flat.data
    assert flat.seven_bit is None  # ASCII: the one form does for every server
    parsed = _parsed(flat.data)
    plain = parsed.get_body(("plain",))
    assert plain is not None and plain.get_content().startswith("Hello\n.a line")


def test_an_eight_bit_body_also_gets_a_seven_bit_form() -> None:
    flat = FlatMessage.of(_message("Grüße aus Köln"))
    assert not flat.data.isascii()
    assert flat.seven_bit is not None and flat.seven_bit.isascii()
    for data in (flat.data, flat.seven_bit):
        plain = _parsed(data).get_body(("plain",))
        assert plain is not None and plain.get_content().strip() == "Grüße aus Köln"


def test_it_pickles_as_its_bytes_and_headers() -> None:
    flat = FlatMessage.of(_message("Hello"))
    again = pickle.loads(pickle.dumps(flat))
    assert isinstance(again, FlatMessage)
    assert (again.sender, again.recipients, again.data, again.seven_bit) == (
        flat.sender,
        flat.recipients,
        flat.data,
        flat.seven_bit,
    )
    assert again["Subject"] == "A badge for you"
    assert len(pickle.dumps(flat)) < len(flat.data) + 1_000


def test_a_message_that_names_no_recipient_is_left_for_the_mailer_to_refuse() -> None:
    message = EmailMessage()
    message["Subject"] = "nobody"
    with pytest.raises(ValueError, match="no sender or no recipient"):
        FlatMessage.of(message)
    assert _rendered_flat(lambda: message) is message
