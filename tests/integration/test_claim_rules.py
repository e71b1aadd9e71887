"""What claiming a badge promises a person, on the real platform: a playlist badge is earned,
never claimed; an open link with a maximum refuses when asked, not after mailing; it answers a
holder as it answers anyone; public ids follow from nothing personal; a revoked badge and a
malformed address get pages; a peer-reviewed badge nobody can review warns its organiser; a
PNG with bytes after IEND is cleaned and bakes."""

from __future__ import annotations

import io
import struct
import uuid
import zlib

from PIL import Image

from contracts.envelope import NAMESPACE
from tests.support import bearer, wait_for
from tests.support_flows import claim_by_email as _claim_by_email
from tests.support_flows import playlist_badge as _playlist_badge
from tests.support_flows import published_badge
from tests.support_flows import unique_email as _unique
from tests.support_mail import claim_link, messages_to, wait_for_messages

HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}
OFFER_NAMESPACE = uuid.UUID("a4f5b0b2-61c4-4f0e-9d8e-2c3e7b1d9a55")


# -- issue 7 item 5 -------------------------------------------------------------------------


async def test_a_playlist_badge_has_no_open_link_and_cannot_be_given_one(http, platform, organiser):
    _, trail = await _playlist_badge(http, platform, organiser, "Earned trail")
    base = f"{platform.url('badge')}/v1/badges/{trail['id']}"
    assert trail["open_link"]["enabled"] is False
    before = await platform.end_offsets("badge.events")
    link = await http.get(f"{base}/open-link", headers=bearer(organiser))
    assert link.status_code == 409 and "earned" in link.json()["error"], link.text
    for path in ("/open-link/qr.png", "/open-link/qr.svg"):
        assert (await http.get(base + path, headers=bearer(organiser))).status_code == 409
    regenerate = await http.post(f"{base}/open-link/regenerate", headers=bearer(organiser))
    assert regenerate.status_code == 409
    enable = await http.patch(
        base, headers=bearer(organiser), json={"open_link": {"enabled": True}}
    )
    assert enable.status_code == 409 and "earned" in enable.json()["error"], enable.text
    assert await platform.end_offsets("badge.events") == before
    # Its other settings can be edited as before.
    renamed = await http.patch(base, headers=bearer(organiser), json={"name": "Trail walker"})
    assert renamed.status_code == 200 and renamed.json()["open_link"]["enabled"] is False


# -- issue 7 item 6 -------------------------------------------------------------------------


async def test_an_open_link_at_its_maximum_refuses_when_asked_and_mails_nothing(
    http, platform, organiser, infra
):
    badge = await published_badge(http, platform, organiser, "One seat")
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    await http.patch(
        base, headers=bearer(organiser), json={"open_link": {"enabled": True, "max_claims": 1}}
    )
    url = (await http.get(f"{base}/open-link", headers=bearer(organiser))).json()["url"]
    first, late, late_api = _unique("first"), _unique("late"), _unique("late-api")
    asked = await http.post(url, data={"email": first}, headers=HTML)
    assert asked.status_code == 202, asked.text
    # The one badge is kept for the first learner, who has not accepted yet.
    page = await http.get(url, headers=HTML)
    assert page.status_code == 410 and "No badges left" in page.text
    refused = await http.post(url, data={"email": late}, headers=HTML)
    assert refused.status_code == 410, refused.text
    assert refused.headers["content-type"].startswith("text/html")
    assert "No badges left" in refused.text and "Accept" not in refused.text
    as_json = await http.post(url, data={"email": late_api}, headers=JSON)
    assert as_json.status_code == 410
    assert as_json.json()["status_name"] == "limit_reached"
    # The first learner's badge is there when they accept; nobody else was mailed.
    [message] = wait_for_messages(infra.mailbox_dir, first)
    assert (await http.post(claim_link(message), headers=JSON)).status_code == 200
    await platform.caught_up("notifier", "badge.events")
    assert messages_to(infra.mailbox_dir, late) == []
    assert messages_to(infra.mailbox_dir, late_api) == []


# -- issue 8 item 4 -------------------------------------------------------------------------


async def test_an_open_link_answers_a_holder_as_anyone_and_mails_them_that_they_hold_it(
    http, platform, organiser, infra
):
    badge = await published_badge(http, platform, organiser, "Same answer")
    holder, stranger = _unique("holder"), _unique("stranger")
    held = await _claim_by_email(http, platform, organiser, infra, badge, holder)
    url = (
        await http.get(
            f"{platform.url('badge')}/v1/badges/{badge['id']}/open-link", headers=bearer(organiser)
        )
    ).json()["url"]
    answers = {}
    for who in (holder, stranger):
        for accept in (HTML, JSON):
            answer = await http.post(url, data={"email": who}, headers=accept)
            body = answer.text.replace(who, "ADDRESS")
            answers[(who, accept["Accept"])] = (answer.status_code, body)
    for accept in (HTML, JSON):
        assert answers[(holder, accept["Accept"])] == answers[(stranger, accept["Accept"])]
    assert answers[(holder, "text/html")][0] == 202
    [notice] = wait_for_messages(infra.mailbox_dir, holder, subject="already hold")
    body = notice.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "already holds it" in text and held["badge_page"] in text
    # Asked twice: one email each.
    await platform.caught_up("notifier", "badge.events")
    assert len(wait_for_messages(infra.mailbox_dir, stranger)) == 1
    assert (
        len([m for m in messages_to(infra.mailbox_dir, holder) if "already" in m["Subject"]]) == 1
    )
    # The stranger's offer id is random: it does not follow from the badge and the address.
    [row] = await platform.query(
        "badge", "SELECT offer_id FROM offers WHERE recipient_email = $1", stranger
    )
    derivable = uuid.uuid5(OFFER_NAMESPACE, f"open:{badge['id']}:1:{stranger}")
    assert row["offer_id"] != derivable


async def test_an_emailed_offer_id_does_not_follow_from_the_key_and_the_email(
    http, platform, organiser
):
    badge = await published_badge(http, platform, organiser, "Keyed offers")
    learner = _unique("keyed")
    url = f"{platform.url('badge')}/v1/badges/{badge['id']}/offers"
    headers = {**bearer(organiser), "Idempotency-Key": "first-issue"}
    first = await http.post(url, headers=headers, json={"email": learner})
    again = await http.post(url, headers=headers, json={"email": learner})
    [offer] = first.json()["offers"]
    assert again.json()["offers"][0]["offer_id"] == offer["offer_id"]
    guessed = uuid.uuid5(OFFER_NAMESPACE, f"{badge['id']}:first-issue:{learner}")
    assert offer["offer_id"] != str(guessed)


async def test_a_playlist_award_id_does_not_follow_from_the_email(http, platform, organiser, infra):
    activities, trail = await _playlist_badge(http, platform, organiser, "Private trail")
    learner = _unique("walker")
    for badge in activities:
        await _claim_by_email(http, platform, organiser, infra, badge, learner)

    async def awarded():
        return await platform.query(
            "badge",
            "SELECT assertion_id FROM assertions WHERE badge_class_id = $1",
            uuid.UUID(trail["id"]),
        )

    [row] = await wait_for(awarded)
    # How it was numbered before: anyone with the address could find the holder's badge.
    guessed = uuid.uuid5(NAMESPACE, f"playlist-award:{trail['id']}:{learner}")
    assert row["assertion_id"] != guessed
    answer = await http.get(f"{platform.url('badge')}/badges/{guessed}", headers=JSON)
    assert answer.status_code == 404


# -- issue 7 item 7 -------------------------------------------------------------------------


async def test_a_revoked_badge_says_so_and_offers_no_download(http, platform, organiser, infra):
    badge = await published_badge(http, platform, organiser, "Withdrawn")
    learner = _unique("revoked")
    held = await _claim_by_email(http, platform, organiser, infra, badge, learner)
    revoked = await http.post(
        f"{platform.url('badge')}/v1/assertions/{held['assertion_id']}/revoke",
        headers=bearer(organiser),
        json={"reason": "Awarded by mistake"},
    )
    assert revoked.status_code == 200
    page = await http.get(held["badge_page"], headers=HTML)
    assert page.status_code == 200
    assert "This badge was revoked by its issuer" in page.text
    assert "Awarded by mistake" in page.text
    assert "Download the badge" not in page.text and "/baked" not in page.text
    download = await http.get(f"{held['assertion_url']}/baked", headers=HTML)
    assert download.status_code == 410
    assert download.headers["content-type"].startswith("text/html")
    assert "This badge was revoked" in download.text and "Awarded by mistake" in download.text
    api = await http.get(f"{held['assertion_url']}/baked", headers=JSON)
    assert api.status_code == 410 and "revoked" in api.json()["error"]


async def test_a_malformed_badge_address_answers_a_page(http, platform):
    for path in ("/badges/not-a-uuid", "/ob/assertions/not-a-uuid"):
        answer = await http.get(
            f"{platform.url('badge')}{path}", headers=HTML, follow_redirects=True
        )
        assert answer.status_code == 404, (path, answer.status_code)
        assert answer.headers["content-type"].startswith("text/html"), path
        assert "Badge not found" in answer.text
    api = await http.get(f"{platform.url('badge')}/badges/not-a-uuid", headers=JSON)
    assert api.status_code == 404 and api.json()["status_name"] == "not_found"


async def test_saving_a_peer_reviewed_badge_nobody_can_review_warns_the_organiser(
    http, platform, organiser
):
    badge = await published_badge(http, platform, organiser, "Peer only")
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    saved = await http.patch(
        base,
        headers=bearer(organiser),
        json={"evidence_mode": "peer", "tasks": [{"title": "Your plan", "kind": "text"}]},
    )
    assert saved.status_code == 200, saved.text
    [warning] = saved.json()["warnings"]
    assert "no holders and no invited peer reviewers" in warning
    assert "review queue" in warning
    invited = await http.post(
        f"{base}/peer-reviewers", headers=bearer(organiser), json={"emails": [_unique("peer")]}
    )
    assert invited.status_code == 200
    assert (await http.get(base, headers=bearer(organiser))).json()["warnings"] == []


# -- issue 7 item 8 -------------------------------------------------------------------------


async def test_the_badge_api_takes_criteria_as_people_type_it(http, platform, organiser):
    badge = await published_badge(http, platform, organiser, "Criteria")
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    edited = await http.patch(
        base, headers=bearer(organiser), json={"criteria": "Plant three seeds", "name": "Seeds"}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["criteria_narrative"] == "Plant three seeds"
    assert edited.json()["name"] == "Seeds"
    document = (await http.get(edited.json()["open_badges_url"])).json()
    assert document["criteria"]["narrative"] == "Plant three seeds"
    both = await http.patch(
        base, headers=bearer(organiser), json={"criteria": "a", "criteria_narrative": "b"}
    )
    assert both.status_code == 422
    spec = (await http.get(f"{platform.url('badge')}/openapi.json")).json()
    changes = spec["components"]["schemas"]["BadgeChanges"]["properties"]
    assert "criteria" in changes and "criteria_narrative" in changes


# -- issue 8 item 7 -------------------------------------------------------------------------


def _png_with_trailing_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (100, 100), (200, 30, 30)).save(out, format="PNG")
    png = out.getvalue()
    # An IEND-looking tail with a length no chunk has: what made baking fail before.
    return png + struct.pack(">I", 0xFFFFFF) + b"junk" + zlib.compress(b"x")[:3]


async def test_a_png_with_bytes_after_iend_is_stored_clean_and_bakes(
    http, platform, organiser, infra
):
    badge = await published_badge(http, platform, organiser, "Clean image")
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    dirty = _png_with_trailing_bytes()
    uploaded = await http.put(
        f"{base}/image", headers=bearer(organiser), files={"file": ("b.png", dirty, "image/png")}
    )
    assert uploaded.status_code == 200, uploaded.text
    stored = (await http.get(badge["image_url"])).content
    assert stored.endswith(b"IEND\xaeB`\x82") and b"junk" not in stored
    held = await _claim_by_email(http, platform, organiser, infra, badge, _unique("baked"))
    baked = await http.get(f"{held['assertion_url']}/baked")
    assert baked.status_code == 200, baked.text
    assert baked.content.startswith(b"\x89PNG") and b"openbadges" in baked.content
    with Image.open(io.BytesIO(baked.content)) as image:
        image.verify()
