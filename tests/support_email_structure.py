"""Checks of an email's structure shared by the unit and integration tests: a responsive HTML
part with its own head, and any image an inline related part, never an attachment."""

from __future__ import annotations

import re
from email.message import EmailMessage

FIXED_WIDTH = re.compile(r"(?<![-\w])width\s*[:=]\s*\"?(\d+)(px)?", re.IGNORECASE)
PHONE = 375


def assert_responsive_html(message: EmailMessage) -> str:
    html_part = message.get_body(("html",))
    assert html_part is not None, "no HTML part"
    html: str = html_part.get_content()
    assert re.search(r"<head>.*</head>", html, re.DOTALL), "the HTML part has no <head>"
    title = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    assert title and title.group(1).strip(), "the HTML part has no <title>"
    assert re.search(
        r'<meta name="viewport" content="width=device-width, initial-scale=1">', html
    ), "no viewport: a phone lays it out at 980 px"
    assert "max-width" in html
    widths = [int(found.group(1)) for found in FIXED_WIDTH.finditer(html)]
    assert all(width <= PHONE / 2 for width in widths), f"fixed widths {widths} on a 375 px phone"
    return html


def assert_no_attachments(message: EmailMessage) -> None:
    for part in message.walk():
        assert not part.is_attachment(), f"{part.get_content_type()} is listed as an attachment"


def assert_inline_image(message: EmailMessage) -> bytes:
    """The multipart/alternative holds text, then a multipart/related of HTML and the image
    (inline, with a Content-ID the HTML names)."""
    assert message.get_content_type() == "multipart/alternative"
    text, related = message.iter_parts()  # type: ignore[misc]
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.iter_parts()
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    content_id = str(image["Content-ID"]).strip("<>")
    assert content_id and f"cid:{content_id}" in html_part.get_content()
    assert_no_attachments(message)
    data = image.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data
