"""Every kind of email the notifier sends: a responsive HTML part with head, title and
viewport, the organisation as the sender's name, quest wording for badges that ask for
evidence, and the QR code as an inline part."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage

import pytest

from contracts.badge import BadgeAwarded, BadgeOffered, PeerReviewerInvited
from contracts.evidence import ReviewRequested, SignInRequested, SubmissionRejected
from services.notifier import emails
from tests.support_email_structure import (
    assert_inline_image,
    assert_no_attachments,
    assert_responsive_html,
)

SENDER = emails.Sender("Open Badges <issuing@badges.example.org>")
ISSUER = 'Riverside "Youth"\nCentre'


def _offer() -> BadgeOffered:
    return BadgeOffered(
        offer_id=uuid.uuid4(),
        badge_class_id=uuid.uuid4(),
        issuer_id=uuid.uuid4(),
        recipient_email="learner@example.org",
        via="email",
        expires_at=datetime.now(UTC) + timedelta(days=30),
        badge_name="Gardening",
        badge_description="Grow food",
        issuer_name=ISSUER,
    )


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def _all_kinds() -> dict[str, EmailMessage]:
    quest = uuid.uuid4()
    badge = emails.BadgeFacts("Gardening", ISSUER, "Show a photo", "peer", 1)
    return {
        "offer": emails.offer_email(SENDER, _offer(), "http://b/claim/p1"),
        "award": emails.award_email(
            SENDER,
            BadgeAwarded(
                assertion_id=uuid.uuid4(),
                badge_class_id=uuid.uuid4(),
                issuer_id=uuid.uuid4(),
                recipient_email="learner@example.org",
                recipient_salt="0123456789abcdef",
                issued_on=datetime.now(UTC),
                badge_name="Gardening",
                issuer_name=ISSUER,
            ),
            "http://b/badges/1",
        ),
        "review": emails.review_request_email(
            SENDER,
            ReviewRequested(
                submission_id=uuid.uuid4(),
                quest_id=quest,
                role="peer",
                reviewers=("peer@example.org",),
                badge_name="Gardening",
                task_title="A photo",
            ),
            "peer@example.org",
            "http://e/reviews/r1",
            ISSUER,
        ),
        "rejected": emails.rejection_email(
            SENDER,
            SubmissionRejected(
                submission_id=uuid.uuid4(),
                quest_id=quest,
                task_id=uuid.uuid4(),
                learner_email="learner@example.org",
                badge_name="Gardening",
                feedback="Sharper, please",
            ),
            "http://e/quests/1",
            ISSUER,
        ),
        "sign_in": emails.sign_in_email(
            SENDER,
            SignInRequested(quest_id=quest, learner_email="l@example.org", badge_name="Gardening"),
            "http://e/sign-in/s1",
            ISSUER,
        ),
        "invitation": emails.reviewer_invitation_email(
            SENDER,
            PeerReviewerInvited(badge_class_id=uuid.uuid4(), email="peer@example.org"),
            badge,
            "Ana",
        ),
    }


@pytest.mark.parametrize("kind", sorted(_all_kinds()))
def test_every_email_is_responsive_and_sent_in_the_organisations_name(kind: str) -> None:
    message = _all_kinds()[kind]
    html = assert_responsive_html(message)
    assert "<title>" in html and str(message["Subject"]) in html.replace("&#34;", '"')
    assert_no_attachments(message)
    sender = message["From"].addresses[0]
    assert isinstance(sender, Address)
    assert sender.display_name == 'Riverside "Youth" Centre'
    assert sender.addr_spec == "issuing@badges.example.org"


def test_without_an_organisation_the_configured_name_signs() -> None:
    assert SENDER.on_behalf_of(None) == "Open Badges <issuing@badges.example.org>"
    assert emails.Sender("badges@example.org").on_behalf_of(None) == (
        "Open Badges <badges@example.org>"
    )


def test_the_offers_qr_code_is_an_inline_related_part() -> None:
    message = emails.offer_email(SENDER, _offer(), "http://b/claim/p1")
    assert assert_inline_image(message).startswith(b"\x89PNG")


def test_a_quest_badges_offer_says_start_and_what_the_evidence_is_for() -> None:
    for mode, reviewer in [("self", "yourself"), ("peer", "other people"), ("organiser", "organ")]:
        message = emails.offer_email(SENDER, _offer(), "http://b/claim/p1", mode, 2)  # type: ignore[arg-type]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        for body in (_text(message), html):
            assert "works once" not in body and "Accept" not in body
            assert "Start your quest" in body
            assert "evidence" in body and "2 tasks" in body and reviewer in body
    plain = emails.offer_email(SENDER, _offer(), "http://b/claim/p1")
    assert "Accept" in _text(plain) and "works once" in _text(plain)


def test_the_invitation_says_who_invited_which_badge_and_what_reviewing_means() -> None:
    text = _text(_all_kinds()["invitation"])
    assert "Ana of Riverside" in text and '"Gardening"' in text
    assert "approve it, or send it back with feedback" in text and "Show a photo" in text
