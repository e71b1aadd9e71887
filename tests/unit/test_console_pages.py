"""Every console page rendered in process, over hand-written fake APIs (httpx's mock
transport): each answers a page, a form that cannot work says why and sends nothing, another
site's form is refused, and a backing service that is down gives the "try again" page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.console.app import build_app
from services.console.backends import Backends
from services.console.settings import ConsoleSettings

ORG, ME = str(uuid.uuid4()), str(uuid.uuid4())
GARDENING, COMPOST, PLAYLIST = (str(uuid.uuid4()) for _ in range(3))
KEY = "obk_0123456789ab_secretsecret"
CONSOLE = "http://127.0.0.1:8005"
SIGNED_IN = {"accept": "text/html", "cookie": f"console_session={KEY}"}
FORM = {**SIGNED_IN, "origin": CONSOLE}


def _activity(activity_id: str, title: str, status: str) -> dict[str, Any]:
    return {
        "id": activity_id,
        "organisation_id": ORG,
        "title": title,
        "description": "d",
        "criteria": "c",
        "status": status,
        "version": 1,
        "created_at": "2026-12-01T10:00:00Z",
        "updated_at": "2026-12-01T10:00:00Z",
        "published_at": "2026-12-01T10:00:00Z" if status == "published" else None,
        "starts_at": "2027-05-01T09:00:00Z",
        "ends_at": None,
        "place": {"name": "Garden", "address": None, "latitude": 53.1, "longitude": -1.2},
    }


PLAYLIST_BODY = {
    "id": PLAYLIST,
    "title": "Green fingers",
    "description": "",
    "activity_ids": [GARDENING, COMPOST],
    "status": "draft",
}


class FakeApis:
    """The activity, badge and evidence APIs as the console calls them; `sent` records the
    writes."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if method != "GET":
            self.sent.append((method, path))
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return httpx.Response(401, json={"error": "the API key is not valid"})
        answers: dict[str, Any] = {
            "/v1/me": {
                "organiser": {
                    "organiser_id": ME,
                    "organisation_id": ORG,
                    "email": "ana@example.org",
                    "name": "Ana",
                    "is_admin": True,
                },
                "organisation": {"name": "Riverside"},
            },
            "/v1/activities": [
                _activity(GARDENING, "Gardening", "published"),
                _activity(COMPOST, "Compost", "draft"),
            ],
            f"/v1/activities/{GARDENING}": _activity(GARDENING, "Gardening", "published"),
            "/v1/playlists": [PLAYLIST_BODY],
            f"/v1/playlists/{PLAYLIST}": PLAYLIST_BODY,
            "/v1/badge-counts": [
                {
                    "badge_class_id": str(uuid.uuid4()),
                    "source_id": GARDENING,
                    "offered": 3,
                    "claimed": 1,
                }
            ],
            "/v1/review-queue": [],
            "/v1/organisers": [
                {
                    "id": ME,
                    "name": "Ana",
                    "email": "ana@example.org",
                    "admin": True,
                    "created_at": "2026-12-01T10:00:00Z",
                }
            ],
        }
        if path == "/v1/keys" and method == "POST":
            return httpx.Response(201, json={"api_key": "obk_bbbbbbbbbbbb_new", "key_id": "b" * 12})
        if path == "/v1/keys":
            return httpx.Response(200, json=[self._key("0123456789ab", "session")])
        if path in answers and method == "GET":
            return httpx.Response(200, json=answers[path])
        return httpx.Response(404, json={"error": "not found"})

    @staticmethod
    def _key(key_id: str, purpose: str) -> dict[str, Any]:
        return {
            "key_id": key_id,
            "prefix": f"obk_{key_id}",
            "organiser_id": ME,
            "organiser_name": "Ana",
            "issued_at": "2026-12-01T10:00:00Z",
            "revoked": False,
            "revoked_at": None,
            "purpose": purpose,
            "expires_at": "2099-01-01T00:00:00Z",
            "started_from": "Chrome on Linux · 192.0.2.1",
        }


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    backends = Backends.connect(
        "http://a", "http://b", "http://e", 5, transport=httpx.MockTransport(handler)
    )
    app = build_app(ConsoleSettings(), backends)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=CONSOLE)


PAGES = [
    "/",
    "/?q=garden&status=published&kind=activity",
    "/activities",
    "/activities?status=draft",
    "/activities/new",
    f"/activities/{GARDENING}",
    "/playlists",
    "/playlists/new",
    f"/playlists/{PLAYLIST}",
    "/keys",
    "/sessions",
    "/colleagues",
]


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_answers_a_page_in_the_layout(path: str) -> None:
    async with _client(FakeApis()) as client:
        page = await client.get(path, headers=SIGNED_IN)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    for landmark in (
        '<a class="skip-link" href="#main">',
        '<main id="main"',
        'aria-label="Console"',
    ):
        assert landmark in page.text


async def test_the_dashboard_shows_each_badges_counts_and_filters_on_the_server() -> None:
    async with _client(FakeApis()) as client:
        every = await client.get("/", headers=SIGNED_IN)
        drafts = await client.get("/?status=draft", headers=SIGNED_IN)
    assert "3 offered" in every.text and "1 claimed" in every.text
    assert "3 of 3 shown" in every.text
    assert "Compost" in drafts.text and "Gardening" not in drafts.text


async def test_without_a_session_a_page_sends_the_browser_to_sign_in_and_back() -> None:
    async with _client(FakeApis()) as client:
        answer = await client.get("/activities?q=x", headers={"accept": "text/html"})
        sign_in = await client.get("/sign-in", headers={"accept": "text/html"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?next=%2Factivities%3Fq%3Dx"
    assert sign_in.status_code == 200 and "Email me a sign-in link" in sign_in.text


async def test_a_new_key_is_shown_once_and_not_kept() -> None:
    async with _client(FakeApis()) as client:
        made = await client.post("/keys", headers=FORM)
        later = await client.get("/keys", headers=SIGNED_IN)
    assert made.status_code == 201 and "obk_bbbbbbbbbbbb_new" in made.text
    assert made.headers["cache-control"] == "no-store"
    assert "obk_bbbbbbbbbbbb_new" not in later.text


async def test_a_playlist_with_an_unpublished_activity_is_not_published_and_says_which() -> None:
    apis = FakeApis()
    async with _client(apis) as client:
        answer = await client.post(f"/playlists/{PLAYLIST}/publish", headers=FORM)
    assert answer.status_code == 409
    assert "Not published: Compost" in answer.text
    assert apis.sent == []


async def test_a_form_that_cannot_work_says_why_by_field_and_sends_nothing() -> None:
    apis = FakeApis()
    async with _client(apis) as client:
        answer = await client.post(
            "/activities",
            data={"title": "", "starts_at": "tomorrow", "starts_offset": "+00:00"},
            headers=FORM,
        )
    assert answer.status_code == 422
    assert "give the activity a title" in answer.text and 'aria-invalid="true"' in answer.text
    assert apis.sent == []


async def test_another_sites_form_is_refused() -> None:
    apis = FakeApis()
    async with _client(apis) as client:
        answer = await client.post(
            "/activities",
            data={"title": "x"},
            headers={**SIGNED_IN, "origin": "http://evil.example"},
        )
    assert answer.status_code == 403
    assert apis.sent == []


async def test_a_service_that_does_not_know_the_session_yet_gives_try_again_not_sign_out() -> None:
    """The evidence service just restarted and has not read the new session's key yet: it
    answers 401 while the activity service, which keeps sessions, still takes the key."""
    apis = FakeApis()

    def behind(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/review-queue":
            return httpx.Response(401, json={"error": "the API key is not valid"})
        return apis(request)

    async with _client(behind) as client:
        answer = await client.get("/reviews", headers=SIGNED_IN)
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "5"
    assert "not reached every part of the console yet" in answer.text
    assert "console_session" not in answer.headers.get("set-cookie", "")

    # A key the activity service refuses too has ended: signed out, as before.
    async with _client(lambda request: httpx.Response(401, json={"error": "no"})) as client:
        ended = await client.get("/reviews", headers=SIGNED_IN)
    assert ended.status_code == 303 and ended.headers["location"].startswith("/sign-in")


async def test_a_backing_service_that_is_down_gives_the_try_again_page() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with _client(down) as client:
        answer = await client.get("/activities", headers=SIGNED_IN)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "5"
    assert "Try again" in answer.text and "nothing was changed" in answer.text


async def test_a_sign_in_link_mailed_before_its_request_committed_still_signs_in() -> None:
    """The activity service answers 503 (nothing changed) to a link whose request it has not
    committed yet; pressing Sign in asks again for a moment instead of showing an error."""
    apis, asked = FakeApis(), []

    def committing(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/sessions":
            asked.append(request.url.path)
            if len(asked) < 3:
                return httpx.Response(503, json={"error": "this sign-in link is still on its way"})
            return httpx.Response(201, json={"api_key": KEY})
        return apis(request)

    async with _client(committing) as client:
        pressed = await client.post(
            "/sign-in/token", headers={"accept": "text/html", "origin": CONSOLE}
        )
    assert pressed.status_code == 303, pressed.text
    assert f"console_session={KEY}" in pressed.headers["set-cookie"]
    assert len(asked) == 3

    # Still refused once the wait is over: the try-again page, nobody signed in.
    async with _client(lambda request: httpx.Response(503, json={"error": "down"})) as client:
        refused = await client.post(
            "/sign-in/token", headers={"accept": "text/html", "origin": CONSOLE}
        )
    assert refused.status_code == 503 and "Try again" in refused.text
    assert "console_session" not in refused.headers.get("set-cookie", "")
