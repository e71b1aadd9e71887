"""The console's review pages over a stand-in for the evidence and activity APIs (httpx's
MockTransport, no network): the queue masks learners and keeps the API's order, the review page
shows every task's evidence with the criteria, links are `noopener nofollow ugc`, files open
in place only when the evidence service says so and always sandboxed, returning without
feedback re-renders the page and sends nothing, and a decision leads back to the queue."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from services.console.app import build_app
from services.console.backends import Backends
from services.console.pages.reviews import masked_email
from services.console.settings import ConsoleSettings
from services.console.signed_in import COOKIE

ORGANISATION = uuid.uuid4()
KEY = "obk_abcdefabcdef_" + "s" * 43
PHOTO, PLAN, SOURCES = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
QUEST = uuid.uuid4()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, format="PNG")
    return out.getvalue()


def _evidence(sid: uuid.UUID, **fields: Any) -> dict[str, Any]:
    return {
        "submission_id": str(sid),
        "status": "pending",
        "feedback": "",
        "submitted_at": "2026-12-01T09:30:00+00:00",
        "text": None,
        "url": None,
        "file": None,
        **fields,
    }


def _file(sid: uuid.UUID, name: str, media_type: str, inline: bool) -> dict[str, Any]:
    return {
        "name": name,
        "media_type": media_type,
        "size": 2048,
        "inline": inline,
        "url": f"/v1/submissions/{sid}/file",
    }


SUBMISSION = {
    **_evidence(PHOTO, file=_file(PHOTO, "box.png", "image/png", True)),
    "quest_id": str(QUEST),
    "learner_email": "robin.hood@example.org",
    "review_role": "organiser",
    "awaiting_organisers": True,
    "badge": {"badge_class_id": str(uuid.uuid4()), "name": "Bird boxes", "criteria": "Build one"},
    "task": {"task_id": str(uuid.uuid4()), "title": "A photo", "description": "Of the box."},
    "reviews": [],
    "earlier": [
        _evidence(
            uuid.uuid4(),
            status="rejected",
            feedback="Closer, please",
            file=_file(uuid.uuid4(), "far.png", "image/png", True),
        )
    ],
    "tasks": [
        {
            "title": "Your plan",
            "description": "",
            "this": False,
            "latest": _evidence(
                PLAN, text="A box <b>for</b> tits.", url="https://example.org/boxes"
            ),
        },
        {"title": "A photo", "description": "", "this": True, "latest": None},
        {
            "title": "The sources",
            "description": "",
            "this": False,
            "latest": _evidence(
                SOURCES, file=_file(SOURCES, "sources.zip", "application/zip", False)
            ),
        },
        {"title": "Not yet", "description": "", "this": False, "latest": None},
    ],
}


class FakePlatform:
    """The APIs the review pages call, and what was sent to them."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []
        self.review_answer = httpx.Response(200, json={"recorded": "approve"})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        body = json.loads(request.content) if request.content else None
        self.sent.append((method, path, body))
        assert request.headers["authorization"] == f"Bearer {KEY}"
        if path == "/v1/me":
            return httpx.Response(
                200,
                json={
                    "organiser": {
                        "organiser_id": str(uuid.uuid4()),
                        "organisation_id": str(ORGANISATION),
                        "email": "ana@example.org",
                    },
                    "organisation": {"name": "Riverside"},
                },
            )
        if path == "/v1/review-queue":
            return httpx.Response(
                200,
                json=[
                    {
                        "submission_id": str(sid),
                        "quest_id": str(QUEST),
                        "kind": "file",
                        "task_title": title,
                        "badge_name": "Bird boxes",
                        "learner_email": "robin.hood@example.org",
                        "submitted_at": f"2026-12-01T0{n}:00:00+00:00",
                    }
                    for n, (sid, title) in enumerate(((PLAN, "Your plan"), (PHOTO, "A photo")))
                ],
            )
        if path == f"/v1/submissions/{PHOTO}":
            return httpx.Response(200, json=SUBMISSION)
        if path == f"/v1/submissions/{PHOTO}/review":
            return self.review_answer
        if path == f"/v1/submissions/{PHOTO}/file":
            return httpx.Response(
                200,
                content=_png(),
                headers={
                    "content-type": "image/png",
                    "content-disposition": 'inline; filename="box.png"',
                },
            )
        if path == f"/v1/submissions/{SOURCES}/file":
            return httpx.Response(
                200,
                content=b"PK\x03\x04",
                headers={
                    "content-type": "application/octet-stream",
                    "content-disposition": 'attachment; filename="sources.zip"',
                },
            )
        return httpx.Response(403, json={"error": "another organisation's submission"})


@pytest.fixture
def fake() -> FakePlatform:
    return FakePlatform()


@pytest.fixture
def console(fake: FakePlatform) -> TestClient:
    settings = ConsoleSettings()
    backends = Backends.connect(
        settings.activity_url,
        settings.badge_url,
        settings.evidence_url,
        5,
        transport=httpx.MockTransport(fake),
    )
    client = TestClient(build_app(settings, backends), base_url=settings.public_url)
    client.cookies.set(COOKIE, KEY)
    return client


def test_learners_are_masked():
    assert masked_email("robin.hood@example.org") == "r•••@example.org"
    assert "robin" not in masked_email("robin@x.org")
    assert masked_email("nonsense") == "•••"


def test_the_queue_lists_oldest_first_with_badge_learner_and_when(console: TestClient):
    page = console.get("/reviews")
    assert page.status_code == 200
    text = page.text
    assert text.index("Your plan") < text.index("A photo"), "the API's order is kept"
    assert "r•••@example.org" in text and "robin.hood" not in text
    assert "Bird boxes" in text and 'datetime="2026-12-01T00:00:00+00:00"' in text
    assert f'href="/reviews/{PHOTO}"' in text


def test_the_review_page_shows_each_task_its_evidence_and_the_criteria(console: TestClient):
    page = console.get(f"/reviews/{PHOTO}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Build one" in text and "The badge's criteria" in text
    assert f'<img src="/reviews/{PHOTO}/file"' in text
    assert "A box &lt;b&gt;for&lt;/b&gt; tits." in text, "the learner's text is escaped"
    assert 'href="https://example.org/boxes" rel="noopener nofollow ugc"' in text
    assert f'<a href="/reviews/{SOURCES}/file" download>Download sources.zip</a>' in text
    assert "Closer, please" in text, "the feedback given before is shown"
    assert "Not submitted yet." in text
    assert f'action="/reviews/{PHOTO}/approve"' in text
    assert f'action="/reviews/{PHOTO}/return"' in text
    assert '<label for="feedback">' in text


def test_returning_without_feedback_re_renders_and_sends_nothing(
    console: TestClient, fake: FakePlatform
):
    answer = console.post(f"/reviews/{PHOTO}/return", data={"feedback": "   "})
    assert answer.status_code == 422
    assert "Write feedback for the learner" in answer.text
    assert 'aria-invalid="true"' in answer.text and "Return with feedback" in answer.text
    assert not [s for s in fake.sent if s[1].endswith("/review")], "a review was sent"


def test_a_return_with_feedback_goes_back_to_the_queue_with_a_message(
    console: TestClient, fake: FakePlatform
):
    answer = console.post(
        f"/reviews/{PHOTO}/return", data={"feedback": " Closer still. "}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/reviews"
    assert (
        "POST",
        f"/v1/submissions/{PHOTO}/review",
        {
            "verdict": "reject",
            "feedback": "Closer still.",
        },
    ) in fake.sent
    queue = console.get("/reviews")
    assert "Returned to the learner" in queue.text


def test_a_submission_decided_meanwhile_shows_the_page_with_why(
    console: TestClient, fake: FakePlatform
):
    fake.review_answer = httpx.Response(
        409, json={"error": "this submission has already been decided"}
    )
    answer = console.post(f"/reviews/{PHOTO}/approve")
    assert answer.status_code == 409
    assert "This submission has already been decided" in answer.text
    assert "The badge's criteria" in answer.text


def test_files_open_in_place_only_when_safe_and_always_sandboxed(console: TestClient):
    image = console.get(f"/reviews/{PHOTO}/file")
    assert image.status_code == 200 and image.content == _png()
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"].startswith("inline")
    assert image.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert image.headers["x-content-type-options"] == "nosniff"
    archive = console.get(f"/reviews/{SOURCES}/file")
    assert archive.headers["content-type"] == "application/octet-stream"
    assert archive.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in archive.headers["content-security-policy"]


def test_another_organisations_submission_is_refused(console: TestClient):
    for path in (f"/reviews/{QUEST}", f"/reviews/{QUEST}/file"):
        answer = console.get(path)
        assert answer.status_code == 403, path
        assert "text/html" in answer.headers["content-type"]
    refused = console.post(f"/reviews/{QUEST}/approve")
    assert refused.status_code == 403
