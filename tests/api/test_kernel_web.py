"""The kernel's web face on an app of its own (no infrastructure): error pages for browsers and
today's JSON for API clients, 503 for a dependency that is down, the 500 answer, security
headers, Origin checks, body limits and the OpenAPI completion."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from aiokafka.errors import KafkaConnectionError
from fastapi import FastAPI, Form, Request, UploadFile
from pydantic import BaseModel

from services.kernel.errors import Conflict, DomainError, Forbidden, ServiceUnavailable
from services.kernel.http import new_app
from services.kernel.web.origins import session_cookie_secure
from services.kernel.web.refusals import status_of
from services.kernel.web.route_notes import RouteNote
from services.organiser_access import CurrentOrganiser

PAGE = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
JSON = {"Accept": "application/json"}
PUBLIC = "https://badges.example.org"


class Gone(DomainError):
    status_code = 410


class TooMany(DomainError):
    status_code = 429


class Note(BaseModel):
    text: str


def sample_app() -> FastAPI:
    notes = {
        "POST /bulk": RouteNote(body_limit=512 * 1024, also_answers={200: "Nothing new."}),
        "GET /image": RouteNote(media_types=("image/svg+xml",)),
    }
    app = new_app("Sample service", "A service for the tests.", 1024 * 1024, [PUBLIC], notes)

    @app.get("/things/{thing_id}")
    async def thing(thing_id: uuid.UUID) -> dict[str, str]:
        return {"id": str(thing_id)}

    @app.get("/things")
    async def things() -> list[str]:
        return []

    @app.post("/things")
    async def add(note: Note) -> dict[str, str]:
        return {"text": note.text}

    @app.post("/bulk", status_code=201)
    async def bulk(note: Note) -> dict[str, int]:
        return {"size": len(note.text)}

    @app.post("/form")
    async def form(name: str = Form()) -> dict[str, str]:
        return {"name": name}

    @app.post("/upload")
    async def upload(file: UploadFile) -> dict[str, int]:
        return {"size": len(await file.read())}

    @app.get("/mine")
    async def mine(organiser: CurrentOrganiser) -> dict[str, str]:
        return {"organisation": str(organiser.organisation_id)}

    @app.get("/refused/{status}")
    async def refused(status: int) -> None:
        kinds: dict[int, DomainError] = {
            403: Forbidden("this belongs to another organisation"),
            409: Conflict("already published"),
            410: Gone("this link was withdrawn"),
            429: TooMany("too many requests"),
        }
        raise kinds[status]

    @app.get("/postgres-down")
    async def postgres_down() -> None:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5999)")

    @app.get("/postgres-stopping")
    async def postgres_stopping() -> None:
        raise asyncpg.CannotConnectNowError("the database system is shutting down")

    @app.get("/kafka-down")
    async def kafka_down() -> None:
        raise KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9999)]")

    @app.post("/kafka-bounded")
    async def kafka_bounded() -> None:
        raise ServiceUnavailable("Kafka did not answer within 5 s; nothing was changed", 7)

    @app.post("/sign-in", responses={429: {"description": "Too many sign-ins from here."}})
    async def sign_in() -> None:
        raise TooMany("too many requests")

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError("a bug")

    @app.get("/image")
    async def image() -> object:
        from fastapi.responses import Response

        return Response(
            b"<svg/>",
            media_type="image/svg+xml",
            headers={"Content-Security-Policy": "default-src 'none'; sandbox"},
        )

    @app.get("/claim/{token}")
    async def claim(token: str, request: Request) -> dict[str, str]:
        return {"token": token}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sample_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://sample.test") as found:
        yield found


def is_page(answer: httpx.Response) -> bool:
    return answer.headers["content-type"].startswith("text/html") and "<!doctype html>" in (
        answer.text.lower()
    )


# -- finding 2: a page for every error a browser can meet; JSON for API clients as before ------


async def test_browsers_get_a_page_for_every_error(client: httpx.AsyncClient) -> None:
    cases = {
        ("GET", "/nowhere"): 404,
        ("DELETE", "/things"): 405,
        ("GET", "/things/not-a-uuid"): 422,
        ("GET", "/refused/403"): 403,
        ("GET", "/refused/409"): 409,
        ("GET", "/refused/410"): 410,
        ("GET", "/refused/429"): 429,
        ("GET", "/postgres-down"): 503,
        ("GET", "/bug"): 500,
    }
    for (method, path), status in cases.items():
        answer = await client.request(method, path, headers=PAGE)
        assert answer.status_code == status, (path, answer.text)
        assert is_page(answer), (path, answer.text)
        # A way back: every error page links home.
        assert 'href="/"' in answer.text, path
        assert '<link rel="stylesheet" href="/static/page.css">' in answer.text
    cut_short = await client.get("/things/not-a-uuid", headers=PAGE)
    assert "opened the whole link" in cut_short.text
    icon = await client.get("/favicon.ico", headers=PAGE)
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/png"
    wrong = await client.post("/things", content=b"{", headers={**PAGE, "content-type": "x/y"})
    assert wrong.status_code in (400, 422) and is_page(wrong)


async def test_api_clients_keep_the_json_they_had(client: httpx.AsyncClient) -> None:
    for headers in ({}, JSON, {"Accept": "*/*"}):
        missing = await client.get("/nowhere", headers=headers)
        assert missing.status_code == 404 and missing.json() == {"error": "Not Found"}
        method = await client.delete("/things", headers=headers)
        assert method.status_code == 405 and method.json() == {"error": "Method Not Allowed"}
        invalid = await client.get("/things/not-a-uuid", headers=headers)
        assert invalid.status_code == 422
        body = invalid.json()
        assert body["error"] == "the request is not valid"
        assert body["details"][0]["where"] == "path.thing_id"
        malformed = await client.post(
            "/things", content=b"{", headers={**headers, "content-type": "application/json"}
        )
        assert malformed.status_code == 400
        assert malformed.json()["error"] == "the request body is not valid JSON"
        refused = await client.get("/refused/409", headers=headers)
        assert refused.json() == {"error": "already published"}


async def test_a_wrong_method_names_every_method_of_the_address(client: httpx.AsyncClient) -> None:
    # /things has two routes (GET, POST), /things/{id} one: each 405 names all of its methods.
    assert (await client.delete("/things")).headers["allow"] == "GET, POST"
    answer = await client.request("OPTIONS", "/things/6a1e1b6e-8c44-4f4a-9a51-1a5f8b5b3f2e")
    assert answer.status_code == 405 and answer.headers["allow"] == "GET"


async def test_the_service_root_is_a_page_with_links(client: httpx.AsyncClient) -> None:
    page = await client.get("/", headers=PAGE)
    assert page.status_code == 200 and is_page(page)
    assert "Sample service" in page.text and "A service for the tests." in page.text
    assert 'href="/docs"' in page.text and 'href="/health"' in page.text
    data = (await client.get("/", headers=JSON)).json()
    assert data["service"] == "Sample service" and data["docs"] == "/docs"


async def test_an_unexpected_error_is_answered_and_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="services.kernel.http"):
        answer = await client.get("/bug", headers=JSON)
    assert answer.status_code == 500
    assert answer.json() == {"error": "something went wrong on our side; it has been logged"}
    assert answer.headers["x-frame-options"] == "DENY"
    assert [r.exc_info is not None for r in caplog.records] == [True]


# -- finding 1: a dependency that is down is a 503 with Retry-After, in one log line -----------


@pytest.mark.parametrize(
    ("path", "what"),
    [
        ("/postgres-down", "its database"),
        ("/postgres-stopping", "its database"),
        ("/kafka-down", "the event log (Kafka)"),
    ],
)
async def test_a_dependency_down_is_503_with_retry_after(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, path: str, what: str
) -> None:
    with caplog.at_level(logging.INFO):
        answer = await client.get(path, headers=JSON)
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["retry-after"]) > 0
    assert what in answer.json()["error"] and "nothing was changed" in answer.json()["error"]
    kernel_lines = [r for r in caplog.records if r.name == "services.kernel.http"]
    assert len(kernel_lines) == 1 and kernel_lines[0].exc_info is None
    page = await client.get(path, headers=PAGE)
    assert page.status_code == 503 and is_page(page) and "try again" in page.text
    assert page.headers["retry-after"] == answer.headers["retry-after"]


async def test_service_unavailable_carries_its_retry_after(client: httpx.AsyncClient) -> None:
    answer = await client.post("/kafka-bounded", headers=JSON)
    assert answer.status_code == 503 and answer.headers["retry-after"] == "7"
    assert answer.json() == {"error": "Kafka did not answer within 5 s; nothing was changed"}


# -- finding 4: security headers on every answer -----------------------------------------------


async def test_every_answer_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    for path in ("/", "/nowhere", "/bug", "/things/not-a-uuid", "/docs", "/openapi.json"):
        answer = await client.get(path, headers=PAGE)
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert (
            "script-src 'self'" in policy
            and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
        )
        assert PUBLIC in policy  # the public origin may show images and receive forms
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "no-store" not in answer.headers.get("cache-control", "")


async def test_a_route_keeps_its_own_stricter_policy(client: httpx.AsyncClient) -> None:
    answer = await client.get("/image")
    assert answer.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert answer.headers["x-content-type-options"] == "nosniff"


async def test_token_addresses_are_neither_cached_nor_referred(client: httpx.AsyncClient) -> None:
    for path in ("/claim/abc", "/things/6a1e1b6e-8c44-4f4a-9a51-1a5f8b5b3f2e?token=abc"):
        answer = await client.get(path, headers=PAGE)
        assert answer.headers["referrer-policy"] == "no-referrer", path
        assert answer.headers["cache-control"] == "no-store", path


# -- finding 5: forms from other sites are refused ---------------------------------------------


async def test_a_form_from_another_site_is_refused(client: httpx.AsyncClient) -> None:
    evil = {"Origin": "https://evil.example", **PAGE}
    answer = await client.post("/form", data={"name": "x"}, headers=evil)
    assert answer.status_code == 403 and is_page(answer) and "another site" in answer.text
    as_json = await client.post("/form", data={"name": "x"}, headers={**evil, **JSON})
    assert as_json.status_code == 403 and "another site" in as_json.json()["error"]
    # With cookies, even a JSON body is checked (a fetch from another site can send one).
    cookie = await client.post(
        "/things", json={"text": "x"}, headers={**evil, "Cookie": "quest_session=abc"}
    )
    assert cookie.status_code == 403
    for referer in ("https://evil.example/page", "http://sample.test.evil.example/"):
        sent = await client.post("/form", data={"name": "x"}, headers={"Referer": referer})
        assert sent.status_code == 403, referer
    cross = await client.post("/form", data={"name": "x"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403
    sandboxed = await client.post("/form", data={"name": "x"}, headers={"Origin": "null"})
    assert sandboxed.status_code == 403


async def test_forms_from_the_service_itself_pass(client: httpx.AsyncClient) -> None:
    accepted = [
        {"Origin": PUBLIC},
        {"Origin": "https://BADGES.example.org:443"},
        {"Origin": "http://sample.test"},  # the address the browser used
        {"Referer": f"{PUBLIC}/claim/abc"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},  # a no-referrer page's form
        {},  # not a browser: curl, scripts
    ]
    for headers in accepted:
        answer = await client.post("/form", data={"name": "x"}, headers=headers)
        assert answer.status_code == 200, (headers, answer.text)


async def test_api_calls_with_a_key_and_no_cookies_are_not_checked(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/upload",
        files={"file": ("a.csv", b"email\n")},
        headers={"Authorization": "Bearer obk_x", "Origin": "https://tool.example"},
    )
    assert answer.status_code == 200
    json_call = await client.post(
        "/things", json={"text": "x"}, headers={"Origin": "https://tool.example"}
    )
    assert json_call.status_code == 200  # JSON without cookies needs a CORS preflight


def test_the_session_cookie_is_secure_behind_https() -> None:
    assert session_cookie_secure("https://quests.example.org")
    assert session_cookie_secure("HTTPS://quests.example.org/")
    assert not session_cookie_secure("http://127.0.0.1:8003")


# -- finding 6: one body limit, before parsing, 413 everywhere ---------------------------------


async def test_bodies_over_the_limit_are_413_before_parsing(client: httpx.AsyncClient) -> None:
    big = b'{"text": "' + b"a" * (70 * 1024) + b'"}'

    async def chunked(data: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(data), 16 * 1024):
            yield data[start : start + 16 * 1024]

    declared = await client.post(
        "/things", content=big, headers={"content-type": "application/json"}
    )
    streamed = await client.post(
        "/things", content=chunked(big), headers={"content-type": "application/json"}
    )
    form = await client.post(
        "/form",
        content=chunked(b"name=" + b"a" * (70 * 1024)),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    upload = await client.post("/upload", files={"file": ("a.bin", b"x" * (1024 * 1024 + 1))})
    for answer in (declared, streamed, form, upload):
        assert answer.status_code == 413, answer.text
        assert "larger than" in answer.json()["error"]
    page = await client.post(
        "/things", content=chunked(big), headers={**PAGE, "content-type": "application/json"}
    )
    assert page.status_code == 413 and is_page(page)


async def test_bodies_within_their_limit_are_read(client: httpx.AsyncClient) -> None:
    small = await client.post("/things", json={"text": "a" * (60 * 1024)})
    assert small.status_code == 200
    bulk = await client.post("/bulk", json={"text": "a" * (300 * 1024)})
    assert bulk.status_code == 201 and bulk.json() == {"size": 300 * 1024}
    upload = await client.post("/upload", files={"file": ("a.bin", b"x" * (900 * 1024))})
    assert upload.status_code == 200


# -- finding 7: the OpenAPI document tells every error answer -----------------------------------


async def test_every_operation_documents_its_error_answers(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            for status in ("400", "401", "403", "404", "409", "413", "422", "429", "503"):
                assert status in responses, (method, path, status)
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}
            assert "Retry-After" in responses["503"]["headers"]
    assert "/" not in document["paths"] and "/docs" not in document["paths"]
    # Operations that take an organiser's key say so (and nothing else does).
    assert document["components"]["securitySchemes"]["OrganiserKey"]["scheme"] == "bearer"
    assert document["paths"]["/mine"]["get"]["security"] == [{"OrganiserKey": []}]
    assert "security" not in document["paths"]["/things"]["get"]
    image = document["paths"]["/image"]["get"]["responses"]["200"]["content"]
    assert list(image) == ["image/svg+xml"]
    bulk = document["paths"]["/bulk"]["post"]["responses"]
    assert bulk["201"] and bulk["200"]["description"] == "Nothing new."
    # A route's own description of an answer stays; the kernel adds the body and the header.
    limited = document["paths"]["/sign-in"]["post"]["responses"]["429"]
    assert limited["description"] == "Too many sign-ins from here."
    assert "Retry-After" in limited["headers"] and "application/json" in limited["content"]


# -- finding 3: the API docs come from the service itself --------------------------------------


async def test_the_docs_load_nothing_from_elsewhere(client: httpx.AsyncClient) -> None:
    await assert_docs_are_local(client)


async def assert_docs_are_local(client: httpx.AsyncClient) -> None:
    import re

    docs = await client.get("/docs", headers=PAGE)
    assert docs.status_code == 200 and is_page(docs)
    references = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert references, docs.text
    assert not [r for r in references if "//" in r], references
    assert "/static/swagger-ui/swagger-ui-bundle.js" in references
    for reference in [*references, docs.text.split('data-openapi-url="')[1].split('"')[0]]:
        asset = await client.get(reference)
        assert asset.status_code == 200, reference
        assert asset.content, reference
    script = (await client.get("/static/swagger-ui/docs.js")).text
    assert "validatorUrl: null" in script
    assert "<script>" not in docs.text  # no inline script: the policy forbids them
    assert (await client.get("/redoc")).status_code == 404


async def test_an_outage_keeps_retry_after_where_a_service_tells_refusals_its_own_way() -> None:
    app = new_app("Own pages", "Tells refusals its own way, as the evidence service does.")

    @app.exception_handler(DomainError)
    async def own_way(request: Request, error: DomainError) -> object:
        from fastapi.responses import PlainTextResponse

        return PlainTextResponse(error.message, status_code=status_of(error))

    @app.post("/write")
    async def write() -> None:
        raise ServiceUnavailable("Kafka did not answer in time", 3)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://own.test") as client:
        answer = await client.post("/write", headers=JSON)
    assert answer.status_code == 503 and answer.headers["retry-after"] == "3"
    assert answer.json() == {"error": "Kafka did not answer in time"}
