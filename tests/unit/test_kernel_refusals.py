"""Domain refusals know nothing of HTTP; the web layer's one table gives their status."""

from __future__ import annotations

import pytest
from starlette.datastructures import Headers

from services.kernel import errors
from services.kernel.web.negotiation import preferred_format, wants_html
from services.kernel.web.refusals import STATUS_OF, retry_after_of, status_of


@pytest.mark.parametrize(
    ("refusal", "status"),
    [
        (errors.BadRequest("x"), 400),
        (errors.Unauthenticated("x"), 401),
        (errors.Forbidden("x"), 403),
        (errors.NotFound("x"), 404),
        (errors.Conflict("x"), 409),
        (errors.Gone("x"), 410),
        (errors.Invalid("x"), 422),
        (errors.ServiceUnavailable("x"), 503),
        (errors.DomainError("x"), 409),
    ],
)
def test_each_kind_of_refusal_has_its_status(refusal, status):
    assert status_of(refusal) == status


def test_no_domain_error_names_a_status():
    kinds = [k for k in vars(errors).values() if isinstance(k, type) and issubclass(k, Exception)]
    assert len(kinds) == len(STATUS_OF)
    assert all("status_code" not in vars(kind) for kind in kinds)


def test_a_services_refusal_answers_as_its_nearest_kind():
    class OpenLinkRefused(errors.Conflict):
        pass

    class Expired(errors.Gone):
        pass

    class TooMany(errors.DomainError):
        status_code = 429  # a refusal outside the services may still name its status

    assert status_of(OpenLinkRefused("no")) == 409
    assert status_of(Expired("late")) == 410
    assert status_of(TooMany("slow down")) == 429


def test_no_service_refusal_names_an_http_status():
    """Refusals say their kind; the table alone maps kinds to statuses."""
    import importlib
    import pkgutil

    import services

    named = []
    for module in pkgutil.walk_packages(services.__path__, "services."):
        if module.name.endswith(("__main__", ".demo")):
            continue
        found = importlib.import_module(module.name)
        for value in vars(found).values():
            refusal = isinstance(value, type) and issubclass(value, errors.DomainError)
            if refusal and "status_code" in vars(value):
                named.append(f"{module.name}.{value.__name__}")
    assert named == []


def test_only_an_outage_asks_to_retry_after():
    assert retry_after_of(errors.ServiceUnavailable("down", retry_after=7)) == 7
    assert retry_after_of(errors.Conflict("no")) is None


@pytest.mark.parametrize(
    ("accept", "for_documents", "for_pages"),
    [
        (None, "json", "html"),
        ("*/*", "json", "html"),
        ("application/json", "json", "json"),
        ("text/html", "html", "html"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "html", "html"),
        ("application/json, text/html", "json", "json"),
        ("text/html, application/json", "html", "html"),
        ("image/png", "json", "html"),
    ],
)
def test_html_or_json_by_one_rule_with_the_addresss_default(accept, for_documents, for_pages):
    headers = Headers({"accept": accept} if accept is not None else {})
    assert preferred_format(headers, default="json") == for_documents
    assert preferred_format(headers, default="html") == for_pages
    assert wants_html(headers) == (for_documents == "html")
    assert wants_html(headers, page_by_default=True) == (for_pages == "html")
