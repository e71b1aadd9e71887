"""The notifier's emails to organisers: the console sign-in link (it works once, for minutes)
and a colleague's welcome that leads to the console's sign-in; both responsive, sent in the
organisation's name."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage

from contracts.activity import OrganiserAdded, OrganiserSignInRequested
from services.notifier import emails
from tests.support_email_structure import assert_no_attachments, assert_responsive_html

SENDER = emails.Sender("Open Badges <issuing@badges.example.org>")
LINK = "https://console.example.org/sign-in/aAbBcC"


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def _from(message: EmailMessage) -> Address:
    sender = message["From"].addresses[0]
    assert isinstance(sender, Address)
    return sender


def test_the_sign_in_link_says_it_works_once_and_for_how_long() -> None:
    asked = OrganiserSignInRequested(
        request_id=uuid.uuid4(),
        organiser_id=uuid.uuid4(),
        organisation_id=uuid.uuid4(),
        email="ana@riverside.example.org",
        expires_at=datetime.now(UTC) + timedelta(minutes=15),
    )
    message = emails.organiser_sign_in_email(SENDER, asked, LINK, "Riverside Youth Centre")
    html = assert_responsive_html(message)
    assert_no_attachments(message)
    assert message["To"] == "ana@riverside.example.org"
    assert _from(message).display_name == "Riverside Youth Centre"
    assert f'href="{LINK}"' in html and LINK in _text(message)
    assert "once" in _text(message) and "15 minutes" in _text(message)


def test_a_colleague_is_told_who_added_them_and_where_to_sign_in() -> None:
    added = OrganiserAdded(
        organiser_id=uuid.uuid4(),
        organisation_id=uuid.uuid4(),
        name="Ben <b>",
        email="ben@riverside.example.org",
    )
    link = "https://console.example.org/sign-in?email=ben%40riverside.example.org"
    message = emails.colleague_invitation_email(SENDER, added, "Ana", "Riverside", link)
    html = assert_responsive_html(message)
    assert (
        "Ben &lt;b&gt;" in html and "<b>" not in html.split("<body", 1)[1].split("Hello", 1)[1][:20]
    )
    assert "Ana made you an organiser of Riverside" in _text(message)
    assert link in _text(message) and str(message["Subject"]).startswith("You are an organiser")
    assert _from(message).display_name == "Riverside"
