"""The learner home's emails: the address sign-in link (the same for any address, its link
the same on replay) and the invitation to a playlist (one email per invitee, linking the
playlist's public catalogue page), each with a text and a responsive HTML part."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, cast

from contracts import new_envelope
from contracts.evidence import AddressSignInAsked, PlaylistInvitationSent
from contracts.tokens import ClaimTokens
from services.kernel.store import Connection
from services.notifier import emails
from services.notifier.composer import composer
from services.notifier.domain.requests import decide_mail
from services.notifier.settings import NotifierSettings
from tests.support_email_structure import assert_no_attachments, assert_responsive_html

SECRET = "a-long-random-secret-for-the-tests-0123456789"
SENDER = emails.Sender("Open Badges <issuing@badges.example.org>")
AT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
PLAYLIST = uuid.uuid4()


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def _invitation(kind: str = "learner") -> PlaylistInvitationSent:
    return PlaylistInvitationSent(
        invitation_id=uuid.uuid4(),
        playlist_id=PLAYLIST,
        playlist_name="Green city",
        issuer_id=uuid.uuid4(),
        issuer_name="Riverside Youth Centre",
        inviter_kind=kind,  # type: ignore[arg-type]
        inviter="ana@example.org" if kind == "learner" else "Ines",
        invitees=("ben@example.org", "cai@example.org"),
        note="Come along <b>now</b>",
    )


def _settings() -> NotifierSettings:
    return NotifierSettings(
        evidence_public_url="https://evidence.example.org",
        activity_public_url="https://activities.example.org/",
    )


async def _composed(event: Any) -> list[tuple[str, str, EmailMessage]]:
    compose = composer(_settings(), ClaimTokens(SECRET))
    source = new_envelope(event, stream_id=uuid.uuid4(), stream_version=1, actor="learner")
    source = source.model_copy(update={"occurred_at": AT})
    found = await compose(cast(Connection, None), source)  # type: ignore[arg-type]
    return [(c.kind, c.recipient, await c.render()) for c in found]


async def test_an_address_sign_in_is_mailed_with_a_link_that_proves_the_address() -> None:
    asked = AddressSignInAsked(learner_email="ana@example.org")
    assert decide_mail(asked, uuid.uuid4())
    [(kind, recipient, message)] = await _composed(asked)
    assert (kind, recipient) == ("sign_in", "ana@example.org")
    text = _text(message)
    token = ClaimTokens(SECRET).address_sign_in("ana@example.org", AT)
    link = f"https://evidence.example.org/sign-in/address/{token}?email=ana%40example.org"
    assert link in text and link.replace("&", "&amp;") in assert_responsive_html(message)
    assert_no_attachments(message)
    # The same link on replay: the expiry counts from the ask.
    [(_, _, again)] = await _composed(asked)
    assert link in _text(again)


async def test_a_playlist_invitation_mails_each_invitee_the_playlists_catalogue_page() -> None:
    composed = await _composed(_invitation())
    assert [(kind, to) for kind, to, _ in composed] == [
        ("offer", "ben@example.org"),
        ("offer", "cai@example.org"),
    ]
    link = f"https://activities.example.org/catalogue/playlists/{PLAYLIST}"
    for _, _, message in composed:
        assert str(message["Subject"]) == "You are invited to the playlist Green city"
        text = _text(message)
        assert link in text and "ana@example.org invites you" in text
        assert "Come along <b>now</b>" in text
        html = assert_responsive_html(message)
        assert f'href="{link}"' in html and "&lt;b&gt;now&lt;/b&gt;" in html
        assert "Riverside Youth Centre" in str(message["From"])


def test_an_organisers_invitation_names_them_and_their_organisation() -> None:
    message = emails.playlist_invitation_email(
        SENDER, _invitation("organiser"), "ben@example.org", "https://a/catalogue/playlists/1"
    )
    assert "Ines of Riverside Youth Centre invites you" in _text(message)
