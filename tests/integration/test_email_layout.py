"""The emails as they reach the real mailbox: the organisation as the sender's name at the
configured address, a responsive HTML part with its own head, the QR code inline (not an
attachment), quest wording for a badge that asks for evidence, and the invitation a peer
reviewer gets."""

from __future__ import annotations

import io
import uuid

import qrcode
from PIL import Image

from tests.support import bearer
from tests.support_email_structure import (
    assert_inline_image,
    assert_no_attachments,
    assert_responsive_html,
)
from tests.support_flows import published_badge
from tests.support_mail import claim_link, messages_to, plain_body, wait_for_messages

FROM = "issuing@badges.example.org"
PLATFORM_ENV = {"NOTIFIER_SMTP_FROM": f"Badge desk <{FROM}>"}
ORGANISATION = "Riverside Youth Centre"  # the organiser fixture's


def _sender(message) -> tuple[str, str]:
    [address] = message["From"].addresses
    return address.display_name, address.addr_spec


async def test_offer_and_award_emails_are_responsive_and_come_from_the_organisation(
    http, platform, organiser, infra
):
    badge = await published_badge(http, platform, organiser, "Layout")
    learner = f"layout.{uuid.uuid4().hex[:8]}@example.org"
    await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers=bearer(organiser),
        json={"email": learner},
    )
    [offer] = wait_for_messages(infra.mailbox_dir, learner, subject="has a badge for you")
    assert _sender(offer) == (ORGANISATION, FROM)
    assert_responsive_html(offer)
    qr = assert_inline_image(offer)
    link = claim_link(offer)
    expected = io.BytesIO()
    qrcode.make(link, box_size=6, border=2).save(expected)
    assert qr == expected.getvalue()
    assert Image.open(io.BytesIO(qr)).size[0] <= 375
    assert "works once" in plain_body(offer)

    accepted = await http.post(link, headers={"Accept": "text/html"}, follow_redirects=False)
    assert accepted.status_code == 303, accepted.text
    [award] = wait_for_messages(infra.mailbox_dir, learner, subject="Your badge")
    assert _sender(award) == (ORGANISATION, FROM)
    assert_responsive_html(award)
    assert_no_attachments(award)


async def test_a_quest_badges_offer_says_start_and_reviewers_are_invited_by_email(
    http, platform, organiser, infra
):
    badge = await published_badge(http, platform, organiser, "Layout quest")
    edited = await http.patch(
        f"{platform.url('badge')}/v1/badges/{badge['id']}",
        headers=bearer(organiser),
        json={
            "evidence_mode": "peer",
            "criteria_narrative": "Show a photo of your radio show's running order.",
            "tasks": [{"title": "Running order", "kind": "text"}],
        },
    )
    assert edited.status_code == 200, edited.text
    run = uuid.uuid4().hex[:8]
    reviewer = f"reviewer.{run}@example.org"
    invited = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/peer-reviewers",
        headers=bearer(organiser),
        json={"emails": [reviewer]},
    )
    assert invited.status_code == 200, invited.text
    [invitation] = wait_for_messages(infra.mailbox_dir, reviewer, subject="invited to review")
    assert _sender(invitation) == (ORGANISATION, FROM)
    assert "Layout quest" in str(invitation["Subject"])
    text = plain_body(invitation)
    # "ana" is the organiser fixture's name; the organisation, the badge and the task of a
    # reviewer are all named.
    assert f"ana of {ORGANISATION}" in text
    assert '"Layout quest"' in text and "running order" in text
    assert "approve it, or send it back with feedback" in text
    assert_responsive_html(invitation)
    assert_no_attachments(invitation)
    again = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/peer-reviewers",
        headers=bearer(organiser),
        json={"emails": [reviewer]},
    )
    assert again.status_code == 200, again.text
    await platform.caught_up("notifier", "badge.events")
    assert len(messages_to(infra.mailbox_dir, reviewer)) == 1, "invited twice, mailed twice"

    learner = f"quest.{run}@example.org"
    await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers=bearer(organiser),
        json={"email": learner},
    )
    [offer] = wait_for_messages(infra.mailbox_dir, learner, subject="has a badge for you")
    html = assert_responsive_html(offer)
    assert_inline_image(offer)
    for body in (plain_body(offer), html):
        assert "works once" not in body and "Accept" not in body
        assert "Start your quest" in body
        assert "asks for evidence" in body and "other people" in body
