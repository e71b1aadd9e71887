"""The running platform's web face over HTTP, as a browser and as an API client sees it: pages at
every address, the API docs served locally, security headers, cross-site forms refused, and one
body limit on every service."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx

from contracts.services import SERVICES
from tests.support import Platform, bearer, wait_for
from tests.support_flows import published_badge

PAGE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}
HOSTS = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def is_page(answer: httpx.Response) -> bool:
    return answer.headers.get("content-type", "").startswith("text/html") and (
        "<!doctype html>" in answer.text.lower()
    )


# -- finding 2 (issue 7 item 7, DESIGN invariant 10): every address a browser reaches is a page --


async def test_each_service_root_is_a_page_with_links(http: httpx.AsyncClient, platform: Platform):
    for service in SERVICES:
        page = await http.get(f"{platform.url(service)}/", headers=PAGE)
        assert page.status_code == 200 and is_page(page), (service, page.text)
        assert f"{service.capitalize()} service" in page.text
        assert 'href="/docs"' in page.text


async def test_browsers_get_pages_for_errors_on_every_service(
    http: httpx.AsyncClient, platform: Platform
):
    badge, evidence, activity = (platform.url(s) for s in ("badge", "evidence", "activity"))
    # (address, method, statuses, told by the kernel itself: then with a link home)
    cases = [
        (f"{badge}/badges/not-a-uuid", "GET", (404, 422), False),
        (f"{badge}/ob/assertions/not-a-uuid", "GET", (404, 422), False),
        (f"{badge}/ob/badge-classes/{uuid.uuid4()}", "GET", (404,), True),
        (f"{badge}/v1/badges", "GET", (401,), True),
        (f"{badge}/v1/badges", "DELETE", (405,), True),
        (f"{badge}/nowhere", "GET", (404,), True),
        (f"{evidence}/reviews/some-token", "GET", (404, 422), False),  # no `reviewer`
        (f"{evidence}/nowhere", "GET", (404,), True),
        (f"{activity}/v1/me", "GET", (401,), True),
        (f"{activity}/v1/activities", "PUT", (405,), True),
        (f"{platform.url('notifier')}/nowhere", "GET", (404,), True),
    ]
    for url, method, statuses, by_kernel in cases:
        answer = await http.request(method, url, headers=PAGE)
        assert answer.status_code in statuses, (url, answer.status_code, answer.text[:300])
        assert is_page(answer), (url, answer.text[:300])
        if by_kernel:
            assert 'href="/"' in answer.text, url


async def test_api_clients_keep_todays_json_errors(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str]
):
    badge, activity = platform.url("badge"), platform.url("activity")
    for headers in ({}, JSON):
        missing_key = await http.get(f"{badge}/v1/badges", headers=headers)
        assert missing_key.status_code == 401
        assert set(missing_key.json()) == {"error"} and "API key" in missing_key.json()["error"]
        unknown = await http.get(
            f"{activity}/v1/activities/{uuid.uuid4()}", headers={**headers, **bearer(organiser)}
        )
        assert unknown.json() == {"error": "activity not found"}
        invalid = await http.get(
            f"{activity}/v1/activities/not-a-uuid", headers={**headers, **bearer(organiser)}
        )
        assert invalid.status_code == 422
        assert invalid.json()["error"] == "the request is not valid"
        assert invalid.json()["details"][0]["where"] == "path.activity_id"
        nowhere = await http.get(f"{badge}/nowhere", headers=headers)
        assert nowhere.json() == {"error": "Not Found"}


# -- finding 3 (issue 7 item 9): the API docs are served by each service itself ------------------


async def test_the_api_docs_load_nothing_from_another_host(
    http: httpx.AsyncClient, platform: Platform
):
    for service in SERVICES:
        base = platform.url(service)
        docs = await http.get(f"{base}/docs", headers=PAGE)
        assert docs.status_code == 200 and is_page(docs), service
        assert not HOSTS.search(docs.text), docs.text
        assets = re.findall(r'(?:src|href)="(/[^"]+)"', docs.text)
        assert "/static/swagger-ui/swagger-ui-bundle.js" in assets
        assert "/static/swagger-ui/swagger-ui.css" in assets
        for asset in [*assets, "/openapi.json"]:
            answer = await http.get(f"{base}{asset}")
            assert answer.status_code == 200 and answer.content, (service, asset)
        assert (await http.get(f"{base}/redoc")).status_code == 404


# -- finding 4 (issue 8 item 11): security headers on every service's answers ------------------


async def test_every_service_sets_the_security_headers(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str]
):
    badge = await published_badge(http, platform, organiser, "Security headers")
    pages = [f"{platform.url(service)}/" for service in SERVICES] + [
        f"{platform.url('badge')}/badges/{uuid.uuid4()}",
        f"{platform.url('evidence')}/evidence/{uuid.uuid4()}",
        f"{platform.url('badge')}/v1/badges",
    ]
    for url in pages:
        answer = await http.get(url, headers=PAGE)
        policy = answer.headers.get("content-security-policy", "")
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, url
        assert "script-src 'self'" in policy, url
        assert answer.headers.get("x-frame-options") == "DENY", url
        assert answer.headers.get("x-content-type-options") == "nosniff", url
        assert answer.headers.get("referrer-policy"), url
    # The badge image keeps its own, stricter policy.
    image = await http.get(badge["image_url"])
    assert image.headers["content-security-policy"].startswith("default-src 'none'")
    assert image.headers["x-frame-options"] == "DENY"


async def test_token_pages_are_not_cached_and_send_no_referrer(
    http: httpx.AsyncClient, platform: Platform
):
    badge, evidence = platform.url("badge"), platform.url("evidence")
    for url in (
        f"{badge}/claim/some-token",
        f"{evidence}/quests/start/some-token",
        f"{evidence}/sign-in/some-token?email=a@example.org",
        f"{evidence}/reviews/some-token?reviewer=a@example.org",
        f"{evidence}/files/{uuid.uuid4()}?reviewer=a@example.org&token=some-token",
    ):
        answer = await http.get(url, headers=PAGE)
        assert answer.headers.get("referrer-policy") == "no-referrer", url
        assert answer.headers.get("cache-control") == "no-store", url


# -- finding 5 (issue 8 item 12): forms from another site are refused --------------------------


async def test_a_claim_form_from_another_site_is_refused_and_changes_nothing(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str]
):
    badge = await published_badge(http, platform, organiser, "Cross-site claims")
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    edited = await http.patch(
        base, headers=bearer(organiser), json={"open_link": {"enabled": True}}
    )
    assert edited.status_code == 200, edited.text
    link = (await http.get(f"{base}/open-link", headers=bearer(organiser))).json()["url"]
    run = uuid.uuid4().hex[:8]
    victim, learner = f"victim.{run}@example.org", f"learner.{run}@example.org"

    forged = await http.post(
        link, data={"email": victim}, headers={**PAGE, "Origin": "https://evil.example"}
    )
    assert forged.status_code == 403 and is_page(forged), forged.text
    assert "another site" in forged.text
    own = await http.post(
        link, data={"email": learner}, headers={**PAGE, "Origin": platform.url("badge")}
    )
    assert own.status_code == 202, own.text

    async def offered() -> list[str] | None:
        offers = (await http.get(f"{base}/offers", headers=bearer(organiser))).json()
        emails = [offer["recipient_email"] for offer in offers]
        return emails if learner in emails else None

    # The forged request came first; once the genuine one is in, the forged one never will be.
    assert victim not in await wait_for(offered)


async def test_api_calls_with_a_key_are_not_origin_checked(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str]
):
    answer = await http.post(
        f"{platform.url('activity')}/v1/activities",
        json={"title": "From a tool"},
        headers={**bearer(organiser), "Origin": "https://tool.example"},
    )
    assert answer.status_code == 201, answer.text


# -- finding 6 (issue 8 item 13): one body limit, before parsing, 413 everywhere ---------------


async def _chunks(size: int, first: bytes = b'{"title": "') -> AsyncIterator[bytes]:
    yield first
    sent = len(first)
    while sent < size:
        yield b"a" * 65536
        sent += 65536


async def test_a_chunked_10_mb_body_is_413(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str]
):
    answer = await http.post(
        f"{platform.url('activity')}/v1/activities",
        content=_chunks(10 * 1024 * 1024),
        headers={**bearer(organiser), "content-type": "application/json"},
    )
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "the request body is larger than 65536 bytes (64 KiB)"


async def test_evidence_json_endpoints_take_64_kib(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str]
):
    big = {"verdict": "reject", "feedback": "a" * (1024 * 1024)}
    answer = await http.post(
        f"{platform.url('evidence')}/v1/submissions/{uuid.uuid4()}/review",
        json=big,
        headers=bearer(organiser),
    )
    assert answer.status_code == 413, answer.text
    form = await http.post(
        f"{platform.url('evidence')}/sign-in", data={"email": "a" * (100 * 1024)}, headers=JSON
    )
    assert form.status_code == 413, form.text


async def test_a_bulk_issue_may_be_larger_than_64_kib(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str]
):
    badge = await published_badge(http, platform, organiser, "Bulk limit")
    emails = [f"learner{n}@example.org" for n in range(5000)]  # about 120 KiB of JSON
    answer = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        json={"emails": emails, "not_a_field": True},
        headers=bearer(organiser),
    )
    # Read and validated (an unknown field), not refused for its size: nothing is issued.
    assert answer.status_code == 422, answer.text
    assert answer.json()["details"][0]["where"] == "body.not_a_field"
