"""What the organisers' review page reads from the evidence service, against the real Kafka,
PostgreSQL and SMTP server: one submission with its quest's tasks and evidence and the badge's
criteria in one call, its file served to the badge's organisation only (images, PDF and text
to open in place, anything else to save, always sandboxed), and the queue oldest first."""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

from PIL import Image

from tests.support import bearer
from tests.support_flows import evidence_badge, start_quest

JSON = {"Accept": "application/json"}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("plan.txt", (2026, 12, 1, 9, 0, 0)), "the plan")
    return out.getvalue()


TASKS: list[dict[str, Any]] = [
    {"title": "Your plan", "description": "A few lines on what you will build.", "kind": "text"},
    {"title": "Where it is", "kind": "url"},
    {"title": "A photo", "kind": "file", "media_types": ["image/png"]},
    {"title": "The sources", "kind": "file", "media_types": ["application/zip"]},
]


async def test_one_call_holds_the_review_and_files_reach_only_the_badges_organisers(
    http, platform, organiser, other_organiser, infra
):
    badge = await evidence_badge(http, platform, organiser, "Bird boxes", "organiser", TASKS)
    learner = f"builder.{uuid.uuid4().hex[:8]}@example.org"
    signed_in, quest = await start_quest(platform, organiser, infra, http, badge, learner)
    ids = {t["title"]: t["task_id"] for t in quest["tasks"]}
    evidence = platform.url("evidence")
    sent: dict[str, str] = {}
    async with signed_in as client:
        for title, form, files in (
            ("Your plan", {"text": "A box <for> blue tits."}, None),
            ("Where it is", {"url": "https://example.org/boxes"}, None),
            ("A photo", {}, {"file": ("box.png", _png(), "image/png")}),
            ("The sources", {}, {"file": ("sources.zip", _zip(), "application/zip")}),
        ):
            answer = await client.post(
                f"{quest['url']}/tasks/{ids[title]}", data=form, files=files, headers=JSON
            )
            assert answer.status_code == 201, answer.text
            sent[title] = answer.json()["submission_id"]
    await platform.caught_up("evidence", "activity.events")

    queue = await http.get(f"{evidence}/v1/review-queue", headers=bearer(organiser))
    assert queue.status_code == 200
    mine = [item for item in queue.json() if item["quest_id"] == quest["quest_id"]]
    assert [item["submission_id"] for item in mine] == [sent[t["title"]] for t in TASKS]
    assert [item["task_title"] for item in mine] == [t["title"] for t in TASKS]
    assert all(item["badge_name"] == "Bird boxes" for item in mine)

    photo = sent["A photo"]
    review = await http.get(f"{evidence}/v1/submissions/{photo}", headers=bearer(organiser))
    assert review.status_code == 200, review.text
    shown = review.json()
    assert shown["badge"]["criteria"] == "Do Bird boxes"
    assert shown["badge"]["name"] == "Bird boxes"
    assert shown["learner_email"] == learner
    assert shown["awaiting_organisers"] is True and shown["status"] == "pending"
    assert shown["task"]["title"] == "A photo"
    assert shown["file"]["name"] == "box.png" and shown["file"]["inline"] is True
    assert shown["file"]["url"] == f"/v1/submissions/{photo}/file"
    tasks = {t["title"]: t for t in shown["tasks"]}
    assert list(tasks) == [t["title"] for t in TASKS]
    assert tasks["A photo"]["this"] and not tasks["Your plan"]["this"]
    assert tasks["Your plan"]["description"] == "A few lines on what you will build."
    assert tasks["Your plan"]["latest"]["text"] == "A box <for> blue tits."
    assert tasks["Where it is"]["latest"]["url"] == "https://example.org/boxes"
    assert tasks["The sources"]["latest"]["file"]["inline"] is False

    image = await http.get(f"{evidence}{shown['file']['url']}", headers=bearer(organiser))
    assert image.status_code == 200 and image.content == _png()
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"].startswith('inline; filename="box.png"')
    assert "sandbox" in image.headers["content-security-policy"]
    assert image.headers["x-content-type-options"] == "nosniff"

    archive = await http.get(
        f"{evidence}/v1/submissions/{sent['The sources']}/file", headers=bearer(organiser)
    )
    assert archive.status_code == 200 and archive.content == _zip()
    assert archive.headers["content-type"] == "application/octet-stream"
    assert archive.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in archive.headers["content-security-policy"]

    no_file = await http.get(
        f"{evidence}/v1/submissions/{sent['Your plan']}/file", headers=bearer(organiser)
    )
    assert no_file.status_code == 404

    # Another organisation's organiser: neither the submission, nor its file, nor a verdict.
    for path in (f"/v1/submissions/{photo}", f"/v1/submissions/{photo}/file"):
        foreign = await http.get(evidence + path, headers={**bearer(other_organiser), **JSON})
        assert foreign.status_code == 403, (path, foreign.text)
        assert learner not in foreign.text and "Do Bird boxes" not in foreign.text
        anonymous = await http.get(evidence + path, headers=JSON)
        assert anonymous.status_code == 401
    theirs = await http.get(f"{evidence}/v1/review-queue", headers=bearer(other_organiser))
    assert photo not in [item["submission_id"] for item in theirs.json()]
    verdict = await http.post(
        f"{evidence}/v1/submissions/{photo}/review",
        headers=bearer(other_organiser),
        json={"verdict": "approve"},
    )
    assert verdict.status_code == 403
    unknown = await http.get(f"{evidence}/v1/submissions/{uuid.uuid4()}", headers=bearer(organiser))
    assert unknown.status_code == 404

    # Returned, then sent again: the new submission shows the returned one and its feedback.
    returned = await http.post(
        f"{evidence}/v1/submissions/{photo}/review",
        headers=bearer(organiser),
        json={"verdict": "reject", "feedback": "Show the box on its tree."},
    )
    assert returned.status_code == 200, returned.text
    after = (await http.get(f"{evidence}/v1/submissions/{photo}", headers=bearer(organiser))).json()
    assert after["status"] == "rejected" and after["awaiting_organisers"] is False
    assert [r["feedback"] for r in after["reviews"]] == ["Show the box on its tree."]
