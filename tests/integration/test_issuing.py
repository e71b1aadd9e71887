"""Issuing on the real platform: bulk offers with idempotency, CSV rows, concurrent claims,
forged links, open links with their limit, and playlist badges earned automatically."""

from __future__ import annotations

import asyncio
import uuid

from contracts.tokens import ClaimTokens
from tests.support import badge_of, bearer, wait_for
from tests.support_flows import published_badge
from tests.support_mail import claim_link, wait_for_messages


def _unique(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:8]}@example.org"


async def test_a_retried_request_with_the_same_key_issues_nothing_twice(http, platform, organiser):
    badge = await published_badge(http, platform, organiser, "Retry safe")
    url = f"{platform.url('badge')}/v1/badges/{badge['id']}/offers"
    emails = [_unique("a"), _unique("b"), "not-an-email", _unique("c")]
    headers = {**bearer(organiser), "Idempotency-Key": "batch-2026-11-30"}
    first = await http.post(url, headers=headers, json={"emails": emails})
    assert first.status_code == 201
    assert first.json()["created"] == 3
    assert first.json()["rejected"][0]["row"] == 3
    again = await http.post(url, headers=headers, json={"emails": emails})
    assert again.status_code == 200 and again.json()["created"] == 0, (first.json(), again.json())
    assert [o["offer_id"] for o in again.json()["offers"]] == [
        o["offer_id"] for o in first.json()["offers"]
    ]
    listed = await http.get(url, headers=bearer(organiser))
    assert len(listed.json()) == 3


async def test_csv_rows_are_checked_one_by_one(http, platform, organiser):
    badge = await published_badge(http, platform, organiser, "CSV")
    good = [_unique("csv1"), _unique("csv2")]
    csv = f"name,email\nAna,{good[0]}\nBen,not an email\nCleo,{good[1]}\nDan,{good[0]}\n,\n"
    answer = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers/csv",
        headers=bearer(organiser),
        files={"file": ("people.csv", csv.encode(), "text/csv")},
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert [(o["row"], o["email"]) for o in body["offers"]] == [(2, good[0]), (4, good[1])]
    assert [(r["row"], r["value"]) for r in body["rejected"]] == [(3, "not an email"), (5, good[0])]
    assert "row 2" in body["rejected"][1]["reason"]


async def test_bad_uploads_are_refused_and_change_nothing(http, platform, organiser):
    badge = await published_badge(http, platform, organiser, "Bad uploads")
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    before = await platform.end_offsets("badge.events")
    binary = await http.post(
        f"{base}/offers/csv",
        headers=bearer(organiser),
        files={"file": ("x.csv", b"\x00\xff\xfe binary", "text/csv")},
    )
    assert binary.status_code == 400 and "not" in binary.json()["error"]
    too_many = "\n".join(_unique(f"m{n}") for n in range(10_001)).encode()
    big = await http.post(
        f"{base}/offers/csv",
        headers=bearer(organiser),
        files={"file": ("x.csv", too_many, "text/csv")},
    )
    assert big.status_code == 400 and "at most 10000 rows" in big.json()["error"]
    nulls = await http.patch(base, headers=bearer(organiser), json={"description": None})
    assert nulls.status_code == 422 and "cannot be null" in nulls.json()["error"]
    none = await http.post(f"{base}/offers", headers=bearer(organiser), json={"emails": []})
    assert none.status_code == 422
    only_bad = await http.post(f"{base}/offers", headers=bearer(organiser), json={"email": "nope"})
    assert only_bad.status_code == 200 and only_bad.json()["created"] == 0
    assert only_bad.json()["rejected"][0]["row"] == 1
    for name, data, media_type, problem in [
        ("a.png", b"GIF89a not a png", "image/png", "must be a PNG or an SVG"),
        ("a.png", b"\x89PNG\r\n\x1a\n" + b"broken", "image/png", "damaged"),
        (
            "a.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
            "<script>",
        ),
        (
            "a.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            "image/svg+xml",
            "scripts",
        ),
        ("a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 600_000, "image/png", "larger than"),
    ]:
        answer = await http.put(
            f"{base}/image", headers=bearer(organiser), files={"file": (name, data, media_type)}
        )
        assert answer.status_code == 422, (name, answer.text)
        assert problem in answer.json()["error"], answer.json()
    assert await platform.end_offsets("badge.events") == before


async def test_twenty_concurrent_accepts_award_exactly_one_badge(http, platform, organiser, infra):
    badge = await published_badge(http, platform, organiser, "Race")
    learner = _unique("racer")
    await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers=bearer(organiser),
        json={"email": learner},
    )
    [message] = wait_for_messages(infra.mailbox_dir, learner)
    link = claim_link(message)
    answers = await asyncio.gather(
        *(http.post(link, headers={"Accept": "application/json"}) for _ in range(20))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] + [409] * 19, statuses
    assertions = await platform.query(
        "badge", "SELECT count(*) AS n FROM assertions WHERE recipient_email = $1", learner
    )
    assert assertions[0]["n"] == 1


async def test_two_revocations_at_once_record_one(http, platform, organiser, infra):
    badge = await published_badge(http, platform, organiser, "Revoke race")
    learner = _unique("revoked")
    await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers=bearer(organiser),
        json={"email": learner},
    )
    link = claim_link(wait_for_messages(infra.mailbox_dir, learner)[0])
    outcome = (await http.post(link, headers={"Accept": "application/json"})).json()
    assertion_id = outcome["assertion_id"]
    answers = await asyncio.gather(
        *(
            http.post(
                f"{platform.url('badge')}/v1/assertions/{assertion_id}/revoke",
                headers=bearer(organiser),
                json={"reason": f"reason {n}"},
            )
            for n in range(2)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    events = [
        e for e in await platform.read_topic("badge.events") if e.event_type == "AssertionRevoked"
    ]
    assert [str(e.payload.assertion_id) for e in events].count(assertion_id) == 1


async def test_forged_tampered_and_foreign_links_are_refused(http, platform, organiser, infra):
    badge = await published_badge(http, platform, organiser, "Forgery")
    other = await published_badge(http, platform, organiser, "Other badge")
    learner = _unique("forger")
    await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers=bearer(organiser),
        json={"email": learner},
    )
    link = claim_link(wait_for_messages(infra.mailbox_dir, learner)[0])
    token = link.rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    forged = ClaimTokens("an attacker's own secret, 32+ characters long").personal(uuid.uuid4())
    other_link = (
        await http.get(
            f"{platform.url('badge')}/v1/badges/{other['id']}/open-link", headers=bearer(organiser)
        )
    ).json()["url"]
    # The other badge's open link with this offer's signature: the tag covers the badge id.
    spliced = other_link.rsplit("/", 1)[1][:23] + token[23:]
    for bad in (tampered, forged, spliced, "p", "nonsense", "o" + "A" * 60):
        for method in ("GET", "POST"):
            answer = await http.request(
                method, f"{platform.url('badge')}/claim/{bad}", headers={"Accept": "text/html"}
            )
            assert answer.status_code == 404, (bad, method, answer.status_code)
            assert "not valid" in answer.text
    assertions = await platform.query(
        "badge", "SELECT count(*) AS n FROM assertions WHERE recipient_email = $1", learner
    )
    assert assertions[0]["n"] == 0


async def test_open_link_proves_the_email_and_stops_at_its_maximum(
    http, platform, organiser, infra
):
    badge = await published_badge(http, platform, organiser, "Open day")
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    edited = await http.patch(
        base, headers=bearer(organiser), json={"open_link": {"enabled": True, "max_claims": 2}}
    )
    assert edited.status_code == 200 and edited.json()["open_link"]["max_claims"] == 2
    open_link = (await http.get(f"{base}/open-link", headers=bearer(organiser))).json()
    qr = await http.get(open_link["qr_png"], headers=bearer(organiser))
    assert qr.content.startswith(b"\x89PNG")
    svg = await http.get(open_link["qr_svg"], headers=bearer(organiser))
    assert b"<svg" in svg.content

    form = await http.get(open_link["url"], headers={"Accept": "text/html"})
    assert form.status_code == 200 and 'type="email"' in form.text
    learners = [_unique("open1"), _unique("open2")]
    for learner in learners:
        asked = await http.post(
            open_link["url"], data={"email": learner}, headers={"Accept": "text/html"}
        )
        assert asked.status_code == 202 and "Check your inbox" in asked.text
    # Both badges are kept for the two learners mailed: a third is refused when asking.
    third = await http.post(
        open_link["url"], data={"email": _unique("open3")}, headers={"Accept": "text/html"}
    )
    assert third.status_code == 410 and "No badges left" in third.text
    links = [claim_link(wait_for_messages(infra.mailbox_dir, learner)[0]) for learner in learners]
    outcomes = [
        (await http.post(link, headers={"Accept": "application/json"})).status_code
        for link in links
    ]
    assert outcomes == [200, 200]
    limit = await http.get(open_link["url"], headers={"Accept": "text/html"})
    assert limit.status_code == 410 and "as many times" in limit.text
    bad_email = await http.post(
        open_link["url"], data={"email": "x@"}, headers={"Accept": "text/html"}
    )
    assert bad_email.status_code in (410, 422)

    await http.patch(base, headers=bearer(organiser), json={"open_link": {"enabled": True}})
    pending = _unique("pending")
    for _ in range(2):  # asking twice mails once
        await http.post(open_link["url"], data={"email": pending}, headers={"Accept": "text/html"})
    [pending_mail] = wait_for_messages(infra.mailbox_dir, pending)
    regenerated = (
        await http.post(f"{base}/open-link/regenerate", headers=bearer(organiser))
    ).json()
    assert regenerated["url"] != open_link["url"]
    dead = await http.get(open_link["url"], headers={"Accept": "text/html"})
    assert dead.status_code == 410 and "no longer works" in dead.text
    # The offer the old link gave out dies with it.
    late = await http.post(claim_link(pending_mail), headers={"Accept": "application/json"})
    assert late.status_code == 410
    assert len(wait_for_messages(infra.mailbox_dir, pending)) == 1


async def test_holding_every_activity_badge_of_a_playlist_earns_its_badge_once(
    http, platform, organiser, infra
):
    first = await published_badge(http, platform, organiser, "Knots")
    second = await published_badge(http, platform, organiser, "Campfire")
    playlist = (
        await http.post(
            f"{platform.url('activity')}/v1/playlists",
            headers=bearer(organiser),
            json={
                "title": "Scout trail",
                "activity_ids": [first["source_id"], second["source_id"]],
            },
        )
    ).json()
    await http.post(
        f"{platform.url('activity')}/v1/playlists/{playlist['id']}/publish",
        headers=bearer(organiser),
    )

    trail = await badge_of(http, platform, organiser, playlist["id"])
    learner = _unique("scout")
    for badge in (first, second):
        await http.post(
            f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
            headers=bearer(organiser),
            json={"email": learner},
        )
    messages = wait_for_messages(infra.mailbox_dir, learner, count=2, subject="has a badge")
    for message in messages:
        answer = await http.post(claim_link(message), headers={"Accept": "application/json"})
        assert answer.status_code == 200

    async def held():
        rows = await platform.query(
            "badge",
            "SELECT badge_class_id, reason FROM assertions WHERE recipient_email = $1",
            learner,
        )
        return rows if len(rows) == 3 else None

    rows = await wait_for(held)
    assert {(str(r["badge_class_id"]), r["reason"]) for r in rows} == {
        (first["id"], "claim"),
        (second["id"], "claim"),
        (trail["id"], "playlist"),
    }

    # A playlist published after a learner already holds all its badges awards it at once.
    later = (
        await http.post(
            f"{platform.url('activity')}/v1/playlists",
            headers=bearer(organiser),
            json={"title": "Late trail", "activity_ids": [first["source_id"], second["source_id"]]},
        )
    ).json()
    await http.post(
        f"{platform.url('activity')}/v1/playlists/{later['id']}/publish", headers=bearer(organiser)
    )
    late_badge = await badge_of(http, platform, organiser, later["id"])

    async def late_award():
        return await platform.query(
            "badge",
            "SELECT reason FROM assertions WHERE recipient_email = $1 AND badge_class_id = $2",
            learner,
            uuid.UUID(late_badge["id"]),
        )

    assert [r["reason"] for r in await wait_for(late_award)] == ["playlist"]


async def test_an_archived_playlists_badge_is_issued_to_nobody_new(
    http, platform, organiser, infra
):
    knots = await published_badge(http, platform, organiser, "Knots")
    playlist = (
        await http.post(
            f"{platform.url('activity')}/v1/playlists",
            headers=bearer(organiser),
            json={"title": "Short trail", "activity_ids": [knots["source_id"]]},
        )
    ).json()
    base = f"{platform.url('activity')}/v1/playlists/{playlist['id']}"
    await http.post(f"{base}/publish", headers=bearer(organiser))
    trail = await badge_of(http, platform, organiser, playlist["id"])
    assert trail["issuing_closed_at"] is None
    offers = f"{platform.url('badge')}/v1/badges/{trail['id']}/offers"
    before = _unique("before")
    retry_key = {**bearer(organiser), "Idempotency-Key": "before-the-archive"}
    made = await http.post(offers, headers=retry_key, json={"email": before})
    assert made.status_code == 201

    archived = await http.post(f"{base}/archive", headers=bearer(organiser))
    assert archived.json()["status"] == "archived"

    async def closed():
        found = await badge_of(http, platform, organiser, playlist["id"])
        return found if found["issuing_closed_at"] else None

    await wait_for(closed)
    late = _unique("late")
    refused = await http.post(offers, headers=bearer(organiser), json={"emails": [late]})
    assert refused.status_code == 409, refused.text
    assert "no longer issued" in refused.json()["error"]
    # A retry of the issue made before the archive still gets its answer: nothing new.
    retried = await http.post(offers, headers=retry_key, json={"email": before})
    assert retried.status_code == 200 and retried.json()["created"] == 0, retried.text
    for prefer in ({}, {"Prefer": "respond-async"}):
        bulk = await http.post(
            f"{offers}/csv",
            headers={**bearer(organiser), **prefer},
            files={"file": ("people.csv", f"email\n{late}\n".encode(), "text/csv")},
        )
        assert bulk.status_code == 409, (prefer, bulk.text)
    listed = await http.get(offers, headers=bearer(organiser))
    assert [o["recipient_email"] for o in listed.json()] == [before]

    # Completing the playlist now earns the activity's badge, not the playlist's; the offer
    # mailed before the archive can still be accepted.
    learner = _unique("learner")
    await http.post(
        f"{platform.url('badge')}/v1/badges/{knots['id']}/offers",
        headers=bearer(organiser),
        json={"email": learner},
    )
    for address in (learner, before):
        (message,) = wait_for_messages(infra.mailbox_dir, address, subject="has a badge")
        answer = await http.post(claim_link(message), headers={"Accept": "application/json"})
        assert answer.status_code == 200, answer.text

    async def awards():
        rows = await platform.query(
            "badge",
            "SELECT recipient_email, badge_class_id FROM assertions "
            "WHERE recipient_email = ANY($1::text[])",
            [learner, before],
        )
        return rows if len(rows) == 2 else None

    rows = await wait_for(awards)
    assert {(r["recipient_email"], str(r["badge_class_id"])) for r in rows} == {
        (learner, knots["id"]),
        (before, trail["id"]),
    }


def _png(side: int) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (side, side), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


async def test_edited_badge_with_uploaded_image_and_expiry_is_what_learners_get(
    http, platform, organiser, infra
):
    badge = await published_badge(http, platform, organiser, "Edited")
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    png = _png(200)
    uploaded = await http.put(
        f"{base}/image", headers=bearer(organiser), files={"file": ("b.png", png, "image/png")}
    )
    assert uploaded.status_code == 200, uploaded.text
    assert (await http.get(badge["image_url"])).content == png
    edited = await http.patch(
        base,
        headers=bearer(organiser),
        json={"name": "Edited badge", "criteria_narrative": "Show up.", "expires_after_days": 30},
    )
    assert edited.json()["expires_after_days"] == 30
    learner = _unique("edited")
    await http.post(f"{base}/offers", headers=bearer(organiser), json={"email": learner})
    message = wait_for_messages(infra.mailbox_dir, learner)[0]
    assert "Edited badge" in str(message["Subject"])
    outcome = (await http.post(claim_link(message), headers={"Accept": "application/json"})).json()
    document = (await http.get(outcome["assertion_url"])).json()
    from datetime import datetime, timedelta

    issued = datetime.fromisoformat(document["issuedOn"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(document["expires"].replace("Z", "+00:00"))
    assert expires - issued == timedelta(days=30)
    person = await http.get(
        outcome["assertion_url"], headers={"Accept": "text/html"}, follow_redirects=True
    )
    assert "Edited badge" in person.text and "Download the badge" in person.text
    baked = await http.get(f"{outcome['assertion_url']}/baked")
    assert baked.content.startswith(b"\x89PNG") and b"openbadges" in baked.content

    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">'
        b'<circle r="40" cx="50" cy="50"/></svg>'
    )
    uploaded = await http.put(
        f"{base}/image", headers=bearer(organiser), files={"file": ("b.svg", svg, "image/svg+xml")}
    )
    assert uploaded.status_code == 200
    baked_svg = await http.get(f"{outcome['assertion_url']}/baked")
    assert baked_svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<openbadges:assertion" in baked_svg.content

    no_tasks = await http.patch(base, headers=bearer(organiser), json={"evidence_mode": "self"})
    assert no_tasks.status_code == 409 and "at least one task" in no_tasks.json()["error"]
    with_tasks = await http.patch(
        base,
        headers=bearer(organiser),
        json={
            "evidence_mode": "self",
            "tasks": [
                {"title": "Your plan", "kind": "text", "max_chars": 2000},
                {"title": "A photo", "kind": "file", "media_types": ["image/png"]},
            ],
        },
    )
    assert with_tasks.status_code == 200, with_tasks.text
    tasks = with_tasks.json()["tasks"]
    assert [t["title"] for t in tasks] == ["Your plan", "A photo"]
    again = await http.patch(
        base, headers=bearer(organiser), json={"tasks": [{"title": "Your plan", "kind": "text"}]}
    )
    assert again.json()["tasks"][0]["task_id"] == tasks[0]["task_id"]
    later = _unique("evidence")
    await http.post(f"{base}/offers", headers=bearer(organiser), json={"email": later})
    link = claim_link(wait_for_messages(infra.mailbox_dir, later)[0])
    page = await http.get(link, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Evidence required" in page.text
    assert f"{platform.url('evidence')}/quests/start/" in page.text
    refused = await http.post(link, headers={"Accept": "application/json"})
    assert refused.json()["status_name"] == "evidence_required"
