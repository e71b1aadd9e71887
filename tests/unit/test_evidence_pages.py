"""The evidence service's web face without a network: who gets a page (the kernel's one rule,
pages first at addresses people open from emails), and one app holding every audience's
routes, documented as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from starlette.datastructures import Headers
from starlette.requests import Request

from contracts.tokens import ClaimTokens
from services.evidence.bootstrap import build_app
from services.evidence.entrypoints import learner_pages, organiser_api, public_pages, reviewer_pages
from services.evidence.entrypoints.web import wants_page
from services.evidence.settings import EvidenceSettings
from services.kernel.runtime import ServiceRuntime
from services.kernel.web.negotiation import wants_html

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def request(accept: str | None) -> Request:
    headers = [] if accept is None else [(b"accept", accept.encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


@pytest.mark.parametrize(
    ("accept", "page"),
    [
        (None, True),
        ("*/*", True),
        (BROWSER, True),
        ("text/html", True),
        ("application/json", False),
        ("application/json, text/html", False),  # JSON named first: the kernel's rule
        ("text/html, application/json", True),
    ],
)
def test_learner_and_reviewer_addresses_answer_pages_and_json_only_when_asked(
    accept: str | None, page: bool
):
    assert wants_page(request(accept)) is page


def test_the_api_keeps_the_kernels_default_json():
    assert not wants_html(Headers({}))
    assert not wants_html(Headers({"accept": "*/*"}))
    assert wants_html(Headers({"accept": BROWSER}))


def test_one_app_serves_every_audiences_routes_and_documents_the_organisers_key(
    tmp_path: Path,
):
    settings = EvidenceSettings(session_secret="s" * 40, blob_dir=tmp_path)
    runtime = cast(ServiceRuntime, object())  # nothing is called while the app is built
    app = build_app(runtime, settings, ClaimTokens("t" * 40))
    served = {getattr(route, "path", "") for route in app.routes}
    for audience in (learner_pages, reviewer_pages, organiser_api, public_pages):
        assert {getattr(route, "path", "") for route in audience.router.routes} <= served
    paths: dict[str, Any] = app.openapi()["paths"]
    assert paths["/v1/review-queue"]["get"]["security"] == [{"OrganiserKey": []}]
    assert "security" not in paths["/quests/{quest_id}"]["get"]
    assert paths["/quests/{quest_id}"]["get"]["tags"] == ["learners"]
