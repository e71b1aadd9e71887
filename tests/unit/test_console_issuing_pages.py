"""The console's Badge and Issue badge pages over a hand-written fake of the platform's APIs
(httpx's mock transport), in-process: what each form sends to the badge service, and that bad
input re-renders the page with the message beside its field and sends nothing."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
import pytest

from services.console.app import build_app
from services.console.backends import Backends
from services.console.settings import ConsoleSettings

CONSOLE = "http://127.0.0.1:8005"
KEY = "obk_0123456789ab_" + "s" * 43
ACTIVITY = uuid.UUID("11111111-1111-4111-8111-111111111111")
OTHERS = uuid.UUID("22222222-2222-4222-8222-222222222222")
BADGE = uuid.UUID("33333333-3333-4333-8333-333333333333")
ISSUE = uuid.UUID("44444444-4444-4444-8444-444444444444")
ASSERTION = uuid.UUID("55555555-5555-4555-8555-555555555555")
ORGANISATION = uuid.UUID("66666666-6666-4666-8666-666666666666")
FAILED_OFFER = uuid.UUID("77777777-7777-4777-8777-777777777777")
PLAYLIST = uuid.UUID("88888888-8888-4888-8888-888888888888")


def _json(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


class FakePlatform:
    """The activity and badge services' organiser APIs as the pages use them; it keeps what
    the console asked to change."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, str, Any, dict[str, str]]] = []
        self.progress = {"offers": 2, "sent": 1, "failed": 0, "pending": 1, "done": False}
        self.playlist: dict[str, Any] = {
            "id": str(PLAYLIST),
            "title": "Green city",
            "description": "Three activities",
            "status": "published",
            "activity_ids": [str(ACTIVITY)],
            "published_at": "2026-12-01T09:00:00Z",
        }
        self.badge: dict[str, Any] = {
            "id": str(BADGE),
            "issuer_id": str(ORGANISATION),
            "source_kind": "activity",
            "source_id": str(ACTIVITY),
            "name": "Urban gardening",
            "description": "Grow food in the city",
            "criteria_narrative": "Plant three seeds",
            "expires_after_days": None,
            "evidence_mode": "none",
            "peer_approvals": 1,
            "open_link": {"enabled": True, "max_claims": None, "valid_until": None},
            "open_link_claims": 0,
            "tasks": [],
            "warnings": [],
            "updated_at": "2026-12-01T10:00:00Z",
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method, path = request.method, request.url.path
        badge = f"/v1/badges/{BADGE}"
        if method != "GET":
            body: Any = request.content
            if request.headers.get("content-type", "").startswith("application/json"):
                body = json.loads(request.content)
            self.writes.append((method, path, body, dict(request.headers)))
        if path == "/v1/me":
            return _json(
                {
                    "organiser": {
                        "organiser_id": str(uuid.uuid4()),
                        "organisation_id": str(ORGANISATION),
                        "email": "ana@riverside.example.org",
                    },
                    "organisation": {"name": "Riverside Youth Centre"},
                }
            )
        if path == f"/v1/activities/{ACTIVITY}":
            return _json({"title": "Urban gardening", "status": "published"})
        if path == f"/v1/playlists/{PLAYLIST}":
            return _json(self.playlist)
        if path == "/v1/playlists":
            return _json([self.playlist])
        if path == "/v1/badge-counts":
            counts = {"badge_class_id": str(BADGE), "offered": 2, "claimed": 1}
            return _json([{**counts, "source_id": str(PLAYLIST)}])
        if path == "/v1/review-queue":
            return _json([])
        if path == "/v1/activities":
            return _json([{"id": str(ACTIVITY), "title": "Urban gardening", "status": "published"}])
        if path == f"/v1/activities/{OTHERS}":
            return _json({"error": "this activity belongs to another organisation"}, 403)
        if path == "/v1/badges":
            found = request.url.params.get("source_id") in (str(ACTIVITY), str(PLAYLIST))
            return _json([self.badge] if found else [])
        if path == badge and method == "GET":
            return _json(self.badge)
        if path == badge and method == "PATCH":
            changes = json.loads(request.content)
            if changes["name"] == "Refused":
                problem = {"where": "body.tasks.0.max_chars", "problem": "too many"}
                return _json({"error": "the request is not valid", "details": [problem]}, 422)
            return _json({**self.badge, **changes})
        if path == f"{badge}/peer-reviewers":
            return _json({"emails": ["zoe@example.org"]})
        if path == f"/ob/issuers/{ORGANISATION}":
            return _json({"name": "Riverside Youth Centre", "url": "https://riverside.example.org"})
        if path == f"{badge}/open-link":
            return _json({"url": "http://badges.example/claim/abc", "enabled": True, "claims": 0})
        if path == f"{badge}/offers" and method == "GET":
            return _json([])
        if path == f"{badge}/assertions":
            return _json(
                [
                    {
                        "assertion_id": str(ASSERTION),
                        "recipient_email": "ana@example.org",
                        "issued_on": "2026-12-01T10:00:00Z",
                        "revoked": False,
                        "revocation_reason": None,
                        "url": "http://badges.example/ob/assertions/x",
                    }
                ]
            )
        if path in (f"{badge}/offers", f"{badge}/offers/csv"):
            if b"\x00" in request.content:
                return _json({"error": "the file is not a CSV text file"}, 400)
            return _json(
                {
                    "idempotency_key": request.headers.get("idempotency-key"),
                    "issue_id": str(ISSUE),
                    "created": 2,
                    "offers": [{"row": 1, "email": "a@example.org", "offer_id": str(uuid.uuid4())}]
                    * 2,
                    "rejected": [{"row": 3, "value": "nope", "reason": "no @-sign"}],
                },
                201,
            )
        if path == f"{badge}/issues/{ISSUE}":
            return _json({"issue_id": str(ISSUE), **self.progress})
        if path == f"/v1/offers/{FAILED_OFFER}/resend":
            return _json({"offer_id": str(FAILED_OFFER), "email_status": "resending"}, 202)
        if path.startswith("/v1/offers/") and path.endswith("/resend"):
            return _json(
                {"error": "this offer was claimed already; there is nothing to resend"}, 409
            )
        if path == f"{badge}/image":
            if b"<script" in request.content:
                return _json({"error": "the image was refused: it holds a script"}, 422)
            return _json(self.badge)
        if path == f"/v1/assertions/{ASSERTION}/revoke":
            return _json({"revoked": True})
        return _json({"error": f"no such thing in the fake: {method} {path}"}, 404)


@pytest.fixture
def fake() -> FakePlatform:
    return FakePlatform()


@pytest.fixture
async def console(fake: FakePlatform) -> Any:
    backends = Backends.connect(
        "http://activity", "http://badge", "http://evidence", 5, httpx.MockTransport(fake)
    )
    app = build_app(ConsoleSettings(), backends)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=CONSOLE,
        cookies={"console_session": KEY},
        headers={"accept": "text/html", "origin": CONSOLE},
    ) as client:
        yield client


def _form(**changes: str) -> dict[str, str]:
    return {
        "name": "Urban gardening",
        "description": "Grow food",
        "criteria": "Plant",
        "expires_after_days": "",
        "evidence_mode": "none",
        "peer_approvals": "1",
        "task_count": "1",
        "task-0-title": "",
        "open_link_enabled": "on",
        **changes,
    }


def _near(page: str, field_id: str) -> str:
    found = re.search(f'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>', page)
    assert found, f"no problem shown beside {field_id}"
    return found.group(1)


async def test_the_badge_tab_shows_the_badge_as_learners_see_it(console, fake):
    page = await console.get(f"/activities/{ACTIVITY}/badge")
    assert page.status_code == 200
    assert "Grow food in the city" in page.text and "Plant three seeds" in page.text
    assert 'href="https://riverside.example.org"' in page.text
    assert "zoe@example.org" in page.text  # the invited reviewer
    assert f'src="/activities/{ACTIVITY}/badge/image' in page.text


async def test_bad_input_is_shown_beside_its_field_and_nothing_is_sent(console, fake):
    page = await console.post(
        f"/activities/{ACTIVITY}/badge",
        data=_form(name="", expires_after_days="soon", open_link_max_claims="0"),
    )
    assert page.status_code == 422
    assert _near(page.text, "name") == "Enter the badge&#39;s name."
    assert _near(page.text, "expires_after_days") == "Enter a whole number."
    assert "Enter a number from 1" in _near(page.text, "open_link_max_claims")
    assert 'value="soon"' in page.text  # kept to be corrected
    assert fake.writes == []


async def test_the_badge_services_refusal_lands_beside_the_task_it_names(console, fake):
    form = _form(
        name="Refused",
        evidence_mode="self",
        **{"task-0-title": "A photo", "task-0-kind": "file", "task-0-max_chars": "9"},
        **{"task-0-max_bytes": "10", "task-0-media_types": "image/png"},
    )
    page = await console.post(f"/activities/{ACTIVITY}/badge", data=form)
    assert page.status_code == 422
    assert _near(page.text, "task-0-max_chars") == "too many"
    assert "the request is not valid" in page.text


async def test_a_good_form_becomes_one_patch(console, fake):
    answer = await console.post(
        f"/activities/{ACTIVITY}/badge", data=_form(expires_after_days="365")
    )
    assert answer.status_code == 303 and answer.headers["location"].endswith("/badge")
    [(method, path, body, _)] = fake.writes
    assert (method, path) == ("PATCH", f"/v1/badges/{BADGE}")
    assert body["expires_after_days"] == 365 and body["open_link"] == {"enabled": True}
    assert body["tasks"] == []


async def test_another_organisations_activity_is_refused_with_a_page(console, fake):
    for path in ("/badge", "/badge/issue", "/badge/qr.png"):
        page = await console.get(f"/activities/{OTHERS}{path}")
        assert page.status_code == 403, path
        assert "another organisation" in page.text
    issue = f"/activities/{OTHERS}/badge/issue/emails"
    answer = await console.post(issue, data={"emails": "a@b.c"})
    assert answer.status_code == 403 and fake.writes == []


async def test_a_pasted_list_is_issued_once_per_form_and_shows_each_rejected_row(console, fake):
    page = await console.post(
        f"/activities/{ACTIVITY}/badge/issue/emails",
        data={"emails": "a@example.org\nb@example.org, nope", "issue_key": "form-1"},
    )
    assert page.status_code == 201
    [(_, path, body, headers)] = fake.writes
    assert path == f"/v1/badges/{BADGE}/offers"
    assert body == {"emails": ["a@example.org", "b@example.org", "nope"]}
    assert headers["idempotency-key"] == "form-1"
    assert "<td>3</td><td>nope</td><td>no @-sign</td>" in page.text
    # The progress polls its own address until the emails are out.
    assert f'hx-get="/activities/{ACTIVITY}/badge/issue/progress/{ISSUE}"' in page.text


async def test_an_empty_address_or_an_unreadable_csv_is_shown_beside_its_field(console, fake):
    page = await console.post(f"/activities/{ACTIVITY}/badge/issue/emails", data={"email": " "})
    assert page.status_code == 422
    assert _near(page.text, "email") == "Enter an email address."
    page = await console.post(
        f"/activities/{ACTIVITY}/badge/issue/csv",
        files={"file": ("people.csv", b"\x00\x01", "text/csv")},
    )
    assert page.status_code == 400
    assert _near(page.text, "file") == "the file is not a CSV text file"


async def test_progress_is_a_fragment_for_htmx_that_stops_polling_when_done(console, fake):
    url = f"/activities/{ACTIVITY}/badge/issue/progress/{ISSUE}"
    fragment = await console.get(url, headers={"hx-request": "true"})
    assert fragment.text.lstrip().startswith('<div id="issue-progress"')
    assert "hx-get" in fragment.text and 'data-count="waiting">1<' in fragment.text
    fake.progress = {"offers": 2, "sent": 1, "failed": 1, "pending": 0, "done": True}
    done = await console.get(url, headers={"hx-request": "true"})
    assert "hx-get" not in done.text and 'data-count="failed">1<' in done.text
    page = await console.get(url)
    assert "<html" in page.text and "Every email is sent" in page.text


async def test_revoking_needs_a_reason_and_regenerating_a_confirmation(console, fake):
    revoke = f"/activities/{ACTIVITY}/badge/issue/awards/{ASSERTION}/revoke"
    page = await console.post(revoke, data={"reason": "  "})
    assert page.status_code == 422
    assert "Say why" in _near(page.text, f"reason-{ASSERTION}")
    page = await console.post(f"/activities/{ACTIVITY}/badge/issue/regenerate", data={})
    assert page.status_code == 422 and "stop working" in page.text
    assert fake.writes == []

    done = await console.post(revoke, data={"reason": "Issued to the wrong person"})
    assert done.status_code == 303
    assert fake.writes[-1][1:3] == (
        f"/v1/assertions/{ASSERTION}/revoke",
        {"reason": "Issued to the wrong person"},
    )
    await console.post(f"/activities/{ACTIVITY}/badge/issue/regenerate", data={"confirm": "yes"})
    assert fake.writes[-1][1] == f"/v1/badges/{BADGE}/open-link/regenerate"


async def test_a_failed_email_is_resent_and_a_refused_resend_says_why(console, fake):
    issue = f"/activities/{ACTIVITY}/badge/issue"
    sent = await console.post(f"{issue}/offers/{FAILED_OFFER}/resend")
    assert sent.status_code == 303 and sent.headers["location"] == f"{issue}#offers"
    assert "being sent again" in sent.headers["set-cookie"].replace("%20", " ")
    refused = await console.post(f"{issue}/offers/{uuid.uuid4()}/resend")
    assert refused.status_code == 303
    assert "claimed already" in refused.headers["set-cookie"].replace("%20", " ")


async def test_an_image_the_badge_service_refuses_is_shown_beside_the_upload(console, fake):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    page = await console.post(
        f"/activities/{ACTIVITY}/badge/image", files={"image": ("a.svg", svg, "image/svg+xml")}
    )
    assert page.status_code == 422
    assert _near(page.text, "image") == "the image was refused: it holds a script"
    none = await console.post(f"/activities/{ACTIVITY}/badge/image", data={})
    assert none.status_code == 422 and _near(none.text, "image") == "Choose a PNG or SVG image."
    assert [path for _, path, _, _ in fake.writes] == [f"/v1/badges/{BADGE}/image"]


async def test_a_bulk_issues_progress_counts_offers_made_of_its_rows_and_rejected_rows_apart(
    console, fake
):
    fake.progress = {
        "offers": 340,
        "sent": 300,
        "failed": 0,
        "pending": 40,
        "rows": 1000,
        "rejected": [{"row": 12, "value": "not an email", "reason": "no @-sign"}],
        "rejected_count": 1,
        "offers_made": False,
        "error": None,
        "done": False,
    }
    url = f"/activities/{ACTIVITY}/badge/issue/progress/{ISSUE}"
    fragment = (await console.get(url, headers={"hx-request": "true"})).text
    assert "<dt>Offers made</dt>" in fragment and "accepted" not in fragment
    assert 'data-count="offers">340<' in fragment and 'data-count="rows">1000<' in fragment
    # The rejected row is no offer and waits for nothing: counted on its own line.
    assert 'data-count="waiting">700<' in fragment
    assert 'data-count="rejected">1</span> row was rejected' in fragment
    page = await console.get(f"/activities/{ACTIVITY}/badge/issue?issue={ISSUE}")
    assert "1000 addresses were accepted, 1 row was rejected" in " ".join(page.text.split())
    assert "<td>12</td><td>not an email</td><td>no @-sign</td>" in page.text
    fake.progress |= {"offers": 340, "error": "the file could not be read", "done": True}
    stopped = (await console.get(url, headers={"hx-request": "true"})).text
    assert "Stopped after 340 offers of 1000: the file could not be read" in stopped


async def test_an_archived_playlist_offers_no_issuing_and_a_form_sent_anyway_issues_nothing(
    console, fake
):
    base = f"/playlists/{PLAYLIST}"
    for path in (base, f"{base}/badge", f"{base}/badge/issue"):
        page = await console.get(path)
        assert page.status_code == 200 and ">Issue badge<" in page.text, path
    assert f'action="{base}/badge/issue/emails"' in (await console.get(f"{base}/badge/issue")).text

    fake.playlist["status"] = "archived"
    for path in (base, f"{base}/badge", f"{base}/badge/issue", "/"):
        page = await console.get(path)
        assert page.status_code == 200, path
        assert "Issue badge" not in page.text, path
    issue_page = (await console.get(f"{base}/badge/issue")).text
    assert "its badge is no longer issued" in issue_page
    assert "<form" in issue_page  # revoking stays
    assert "/badge/issue/emails" not in issue_page and "/badge/issue/csv" not in issue_page
    assert "ana@example.org" in issue_page  # the awards stay listed

    tries: list[tuple[str, str, dict[str, Any]]] = [
        ("post", f"{base}/badge/issue/emails", {"data": {"email": "new@example.org"}}),
        ("post", f"{base}/badge/issue/emails", {"data": {"emails": "a@example.org"}}),
        (
            "post",
            f"{base}/badge/issue/csv",
            {"files": {"file": ("people.csv", b"email\nb@example.org\n", "text/csv")}},
        ),
        ("get", f"{base}/badge/issue/regenerate", {}),
        ("post", f"{base}/badge/issue/regenerate", {"data": {"confirm": "yes"}}),
        ("post", f"{base}/badge/issue/offers/{FAILED_OFFER}/resend", {}),
    ]
    for method, path, sent in tries:
        answer = await getattr(console, method)(path, **sent)
        assert answer.status_code == 409, (path, answer.status_code)
        assert answer.headers["content-type"].startswith("text/html"), path
        assert "No longer issued" in answer.text and "no longer issued" in answer.text, path
    assert fake.writes == []

    revoked = await console.post(
        f"{base}/badge/issue/awards/{ASSERTION}/revoke", data={"reason": "Issued in error"}
    )
    assert revoked.status_code == 303
    assert [w[1] for w in fake.writes] == [f"/v1/assertions/{ASSERTION}/revoke"]
