"""Evidence quests end to end, through HTTP and real emails: self-approval, peer review and
organiser review, each ending with an Assertion the official validator accepts and that lists
the evidence; then the refusals, and a replay of everything."""

from __future__ import annotations

import asyncio
import io
import json
import re
import uuid
from typing import Any

import httpx
from PIL import Image

from contracts.services import SERVICES
from contracts.tokens import ClaimTokens
from tests.support import bearer
from tests.support_flows import evidence_badge, ob_verify, start_quest
from tests.support_mail import (
    first_match,
    html_body,
    messages_to,
    plain_body,
    wait_for_messages,
)

JSON = {"Accept": "application/json"}
REVIEW_LINK = re.compile(r"https?://\S+/reviews/[A-Za-z0-9_-]+\?reviewer=\S+")
ASSERTION_PAGE = re.compile(r"https?://\S+/badges/([0-9a-f-]{36})")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 80), (200, 100, 50)).save(out, format="PNG")
    return out.getvalue()


async def award_of(infra, learner) -> str:
    [message] = wait_for_messages(infra.mailbox_dir, learner, subject="Your badge")
    return first_match(ASSERTION_PAGE, html_body(message), 1)


def _verify_with_evidence(platform, assertion_id, learner, http_document) -> None:
    assert http_document["evidence"], "the Assertion lists no evidence"
    assert all(e["id"].startswith(platform.url("evidence")) for e in http_document["evidence"])
    verified = ob_verify(f"{platform.url('badge')}/ob/assertions/{assertion_id}", learner)
    assert verified.returncode == 0, verified.stdout[-3000:]


async def test_self_approval(http, platform, organiser, infra):
    badge = await evidence_badge(
        http,
        platform,
        organiser,
        "Self reflection",
        "self",
        [
            {"title": "What you learned", "kind": "text"},
            {"title": "Your project page", "kind": "url"},
        ],
    )
    learner = f"self.{uuid.uuid4().hex[:8]}@example.org"
    signed_in, quest = await start_quest(platform, organiser, infra, http, badge, learner)
    async with signed_in as client:
        text_task, url_task = quest["tasks"]
        base = quest["url"]
        for task, field, value in (
            (text_task, "text", "How to <b>weld</b> safely."),
            (url_task, "url", "https://example.org/my-project"),
        ):
            answer = await client.post(
                f"{base}/tasks/{task['task_id']}", data={field: value}, headers=JSON
            )
            assert answer.status_code == 201, answer.text
            submission = answer.json()["submission_id"]
            confirmed = await client.post(
                f"{platform.url('evidence')}/submissions/{submission}/confirm", headers=JSON
            )
            assert confirmed.status_code == 200, confirmed.text
        page = await client.get(base, headers={"Accept": "text/html"})
        assert "&lt;b&gt;weld" in page.text or "2 of 2" in page.text
    assertion_id = await award_of(infra, learner)
    # The award email can come a moment before the badge service commits the award's row.
    await platform.caught_up("badge", "evidence.events")
    document = (await http.get(f"{platform.url('badge')}/ob/assertions/{assertion_id}")).json()
    _verify_with_evidence(platform, assertion_id, learner, document)
    evidence_page = await http.get(document["evidence"][0]["id"])
    assert evidence_page.status_code == 200 and "&lt;b&gt;weld" in evidence_page.text


async def test_a_fresh_sign_in_link_by_email(http, platform, organiser, infra):
    badge = await evidence_badge(
        http, platform, organiser, "Sign in again", "self", [{"title": "Notes", "kind": "text"}]
    )
    learner = f"returning.{uuid.uuid4().hex[:8]}@example.org"
    signed_in, quest = await start_quest(platform, organiser, infra, http, badge, learner)
    async with signed_in:
        pass
    evidence = platform.url("evidence")
    assert (await http.get(quest["url"], headers=JSON)).status_code == 401
    nobody = await http.post(
        f"{evidence}/sign-in", data={"email": "nobody@example.org"}, headers=JSON
    )
    asked = await http.post(f"{evidence}/sign-in", data={"email": learner.upper()}, headers=JSON)
    assert nobody.status_code == asked.status_code == 202
    assert nobody.json()["message"].replace("nobody@example.org", "") == asked.json()[
        "message"
    ].replace(learner, "")
    [message] = wait_for_messages(infra.mailbox_dir, learner, subject="Your quest for")
    link = first_match(re.compile(r"https?://\S+/sign-in/\S+"), plain_body(message))
    async with httpx.AsyncClient(timeout=30) as browser:
        followed = await browser.post(link, headers=JSON)
        assert followed.status_code == 200
        page = await browser.get(quest["url"], headers=JSON)
        assert page.status_code == 200 and page.json()["tasks"][0]["title"] == "Notes"
        forged = await browser.post(link.replace("email=", "email=x"), headers=JSON)
        assert forged.status_code == 404
    assert messages_to(infra.mailbox_dir, "nobody@example.org") == []


async def test_peer_review(http, platform, organiser, infra):
    badge = await evidence_badge(
        http,
        platform,
        organiser,
        "Peer reviewed",
        "peer",
        [{"title": "A photo of your work", "kind": "file", "media_types": ["image/png"]}],
        peer_approvals=2,
    )
    run = uuid.uuid4().hex[:8]
    peers = [f"peer{n}.{run}@example.org" for n in range(3)]
    learner = f"learner.{run}@example.org"
    stranger = f"stranger.{run}@example.org"
    invited = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/peer-reviewers",
        headers=bearer(organiser),
        json={"emails": [*peers, learner]},
    )
    assert invited.status_code == 200, invited.text
    await platform.caught_up("evidence", "badge.events")
    signed_in, quest = await start_quest(platform, organiser, infra, http, badge, learner)
    async with signed_in as client:
        [task] = quest["tasks"]
        answer = await client.post(
            f"{quest['url']}/tasks/{task['task_id']}",
            files={"file": ("work.png", _png(), "image/png")},
            headers=JSON,
        )
        assert answer.status_code == 201, answer.text
        submission = uuid.UUID(answer.json()["submission_id"])
        own_file = await client.get(f"{platform.url('evidence')}/files/{submission}")
        assert own_file.status_code == 200 and own_file.content == _png()

    links = {}
    for peer in peers:
        [message] = wait_for_messages(infra.mailbox_dir, peer, subject="Evidence to review")
        links[peer] = first_match(REVIEW_LINK, plain_body(message))
    assert not messages_to(infra.mailbox_dir, learner)[1:] or all(
        "Evidence to review" not in str(m["Subject"])
        for m in messages_to(infra.mailbox_dir, learner)
    ), "the learner was asked to review their own work"

    tokens = ClaimTokens(platform.claim_token_secret)
    evidence = platform.url("evidence")
    own = await http.post(
        f"{evidence}/reviews/{tokens.review(submission, learner)}",
        params={"reviewer": learner},
        data={"verdict": "approve"},
        headers=JSON,
    )
    assert own.status_code == 403 and "own work" in own.json()["error"]
    outsider = await http.post(
        f"{evidence}/reviews/{tokens.review(submission, stranger)}",
        params={"reviewer": stranger},
        data={"verdict": "approve"},
        headers=JSON,
    )
    assert outsider.status_code == 403
    no_file = await http.get(f"{evidence}/files/{submission}")
    assert no_file.status_code == 403
    peer_file = await http.get(
        f"{evidence}/files/{submission}",
        params={"reviewer": peers[0], "token": links[peers[0]].split("/reviews/")[1].split("?")[0]},
    )
    assert peer_file.status_code == 200

    first = await http.post(links[peers[0]], data={"verdict": "approve"}, headers=JSON)
    assert first.status_code == 200, first.text
    twice = await http.post(links[peers[0]], data={"verdict": "approve"}, headers=JSON)
    assert twice.status_code == 409
    rows = await platform.query(
        "evidence", "SELECT status FROM submissions WHERE submission_id = $1", submission
    )
    assert rows[0]["status"] == "pending", "one reviewer's second vote counted"
    together = await asyncio.gather(
        *(http.post(links[p], data={"verdict": "approve"}, headers=JSON) for p in peers[1:])
    )
    assert sorted(a.status_code for a in together) in ([200, 200], [200, 409])
    assertion_id = await award_of(infra, learner)
    await platform.caught_up("badge", "evidence.events")
    awarded = await platform.query(
        "badge", "SELECT count(*) AS n FROM assertions WHERE recipient_email = $1", learner
    )
    assert awarded[0]["n"] == 1
    document = (await http.get(f"{platform.url('badge')}/ob/assertions/{assertion_id}")).json()
    _verify_with_evidence(platform, assertion_id, learner, document)


async def test_organiser_review_with_a_rejection(http, platform, organiser, other_organiser, infra):
    badge = await evidence_badge(
        http,
        platform,
        organiser,
        "Organiser reviewed",
        "organiser",
        [{"title": "Your event report", "kind": "url"}],
    )
    learner = f"reviewed.{uuid.uuid4().hex[:8]}@example.org"
    signed_in, quest = await start_quest(platform, organiser, infra, http, badge, learner)
    evidence = platform.url("evidence")
    async with signed_in as client:
        [task] = quest["tasks"]
        submitted = await client.post(
            f"{quest['url']}/tasks/{task['task_id']}",
            data={"url": "https://example.org/r1"},
            headers=JSON,
        )
        first = submitted.json()["submission_id"]
        await platform.caught_up("evidence", "activity.events")
        queue = (await http.get(f"{evidence}/v1/review-queue", headers=bearer(organiser))).json()
        assert first in [str(item["submission_id"]) for item in queue]
        foreign = await http.post(
            f"{evidence}/v1/submissions/{first}/review",
            headers=bearer(other_organiser),
            json={"verdict": "approve"},
        )
        assert foreign.status_code == 403
        rejected = await http.post(
            f"{evidence}/v1/submissions/{first}/review",
            headers=bearer(organiser),
            json={"verdict": "reject", "feedback": "Please add photos of the event."},
        )
        assert rejected.status_code == 200, rejected.text
        [returned] = wait_for_messages(infra.mailbox_dir, learner, subject="needs another look")
        assert "Please add photos" in plain_body(returned)
        state = (await client.get(quest["url"], headers=JSON)).json()
        assert state["tasks"][0]["status"] == "rejected"
        again = await client.post(
            f"{quest['url']}/tasks/{task['task_id']}",
            data={"url": "https://example.org/r2"},
            headers=JSON,
        )
        second = again.json()["submission_id"]
        approved = await http.post(
            f"{evidence}/v1/submissions/{second}/review",
            headers=bearer(organiser),
            json={"verdict": "approve"},
        )
        assert approved.status_code == 200
    assertion_id = await award_of(infra, learner)
    # The award email can come a moment before the badge service commits the award's row.
    await platform.caught_up("badge", "evidence.events")
    document = (await http.get(f"{platform.url('badge')}/ob/assertions/{assertion_id}")).json()
    assert "https://example.org/r2" in document["evidence"][0]["narrative"]
    _verify_with_evidence(platform, assertion_id, learner, document)


async def test_bad_evidence_is_refused_and_nothing_is_stored(http, platform, organiser, infra):
    badge = await evidence_badge(
        http,
        platform,
        organiser,
        "Strict",
        "self",
        [
            {"title": "Short text", "kind": "text", "max_chars": 20},
            {"title": "Link", "kind": "url"},
            {"title": "Small PNG", "kind": "file", "media_types": ["image/png"], "max_bytes": 1000},
        ],
    )
    other = await evidence_badge(
        http, platform, organiser, "Other quest", "self", [{"title": "Other", "kind": "text"}]
    )
    learner = f"strict.{uuid.uuid4().hex[:8]}@example.org"
    signed_in, quest = await start_quest(platform, organiser, infra, http, badge, learner)
    before = await platform.end_offsets("evidence.events")
    async with signed_in as client:
        text, url, file = (t["task_id"] for t in quest["tasks"])
        base = quest["url"]
        cases: list[tuple[str, dict[str, Any], str]] = [
            (text, {"data": {"text": "x" * 21}}, "longer than"),
            (url, {"data": {"url": "javascript:alert(1)"}}, "http"),
            (url, {"data": {"url": "data:text/html,<script>x</script>"}}, "http"),
            (
                file,
                {"files": {"file": ("big.png", b"\x89PNG" + b"0" * 2000, "image/png")}},
                "larger",
            ),
            (
                file,
                {"files": {"file": ("x.exe", b"MZ...", "application/x-msdownload")}},
                "not accepted",
            ),
            (other["tasks"][0]["task_id"], {"data": {"text": "hi"}}, "no such task"),
        ]
        for task_id, payload, problem in cases:
            answer = await client.post(f"{base}/tasks/{task_id}", headers=JSON, **payload)
            assert 400 <= answer.status_code < 500, (problem, answer.status_code, answer.text)
            assert problem in answer.json()["error"], answer.json()
    assert await platform.end_offsets("evidence.events") == before
    anonymous = await http.get(base, headers=JSON)
    assert anonymous.status_code == 401


async def test_rebuild_reproduces_evidence_state_and_mails_nobody(http, platform, infra):
    for service, topic in [
        ("evidence", "evidence.events"),
        ("badge", "evidence.events"),
        ("notifier", "evidence.events"),
        ("notifier", "badge.events"),
    ]:
        await platform.caught_up(service, topic)
    platform.stop_all()
    mailed = len(list(infra.mailbox_dir.glob("*.eml")))
    before = {s: platform.run(s, "checksum") for s in SERVICES}
    offsets = {
        t: await platform.end_offsets(t)
        for t in ("badge.events", "evidence.events", "notifier.events")
    }
    submissions = await platform.query("evidence", "SELECT count(*) AS n FROM submissions")
    assert submissions[0]["n"] >= 5
    await platform.drop_schemas()
    reports = {s: json.loads(platform.run(s, "rebuild")) for s in SERVICES}
    assert {s: platform.run(s, "checksum") for s in SERVICES} == before, reports
    for topic, ends in offsets.items():
        assert await platform.end_offsets(topic) == ends, topic
    assert len(list(infra.mailbox_dir.glob("*.eml"))) == mailed
    platform.start_all()
