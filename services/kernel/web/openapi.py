"""The OpenAPI document tells every answer an operation can give: its success, and the error
answers the kernel gives any request (with their one body shape), 503 included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from services.kernel.web.route_notes import RouteNotes, apply_to_operation

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "What went wrong, for a person to read."},
        "details": {
            "description": "For invalid requests: each problem with where it is.",
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"where": {"type": "string"}, "problem": {"type": "string"}},
            },
        },
    },
    "required": ["error"],
}

# Every operation can meet these: a malformed or oversized body, a missing or wrong key, another
# organisation's thing, an unknown id, a state that forbids it, something withdrawn, a rate
# limit, and a dependency (Kafka, PostgreSQL) that is down for a moment.
ERROR_STATUSES = {
    "400": "The request could not be read (malformed JSON, a bad form).",
    "401": "An organiser API key is required, or the one sent is not valid.",
    "403": "Not yours: another organisation's, or another person's; or a cross-site form.",
    "404": "Not found.",
    "409": "The present state forbids it.",
    "410": "Withdrawn, expired or used up.",
    "413": "The body is over its limit (64 KiB; uploads: the documented size).",
    "422": "The request is not valid: `details` says where.",
    "429": "Too many requests: try again after `Retry-After` seconds.",
    "503": "A dependency is unavailable for a moment: try again after `Retry-After` seconds.",
}

# Organiser endpoints say so, so the API docs offer "Authorize" and clients know what to send.
ORGANISER_KEY = {
    "type": "http",
    "scheme": "bearer",
    "description": "An organiser API key, `obk_...` (`bootstrap` prints the first one).",
}

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}


def _error_response(status: str, description: str, page: bool) -> dict[str, Any]:
    # A learner's page tells a refusal as a page, and as that page's own JSON to clients that
    # ask for JSON; every other operation answers the one error shape.
    body = {"type": "object"} if page else {"$ref": "#/components/schemas/Error"}
    response: dict[str, Any] = {
        "description": description,
        "content": {
            "application/json": {"schema": body},
            "text/html": {"schema": {"type": "string"}},
        },
    }
    if status in ("429", "503"):
        response["headers"] = RETRY_AFTER
    return response


def _serves_pages(operation: dict[str, Any]) -> bool:
    success = [v for k, v in operation["responses"].items() if k.startswith(("2", "3"))]
    return any("text/html" in (answer.get("content") or {}) for answer in success)


def complete(
    schema: dict[str, Any],
    notes: RouteNotes | None = None,
    keyed: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """`keyed`: the operations ("GET /v1/badges") that take an organiser's API key."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    if keyed:
        components.setdefault("securitySchemes", {})["OrganiserKey"] = ORGANISER_KEY
    schemas["Error"] = ERROR_SCHEMA
    # FastAPI's own 422 shape is not what the kernel answers.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if f"{method.upper()} {path}" in keyed:
                operation.setdefault("security", [{"OrganiserKey": []}])
            note = (notes or {}).get(f"{method.upper()} {path}")
            if note is not None:
                apply_to_operation(note, operation)
            responses = operation["responses"]
            pages = _serves_pages(operation)
            for status, description in ERROR_STATUSES.items():
                ours = _error_response(status, description, pages)
                declared = responses.get(status)
                if declared is None or "HTTPValidationError" in str(declared):
                    responses[status] = ours
                else:
                    # A route's own words for it stay; the body and headers are the kernel's.
                    for key in ("content", "headers"):
                        if key in ours:
                            declared.setdefault(key, ours[key])
            if pages:
                # A page answers JSON too, to clients that ask for it (what the page shows).
                for answer in responses.values():
                    answer.setdefault("content", {}).setdefault(
                        "application/json", {"schema": {"type": "object"}}
                    )
    return schema


F = TypeVar("F", bound=Callable[..., Any])


def requires_api_key(dependency: F) -> F:
    """Mark a FastAPI dependency that takes an API key: routes needing it are documented so."""
    dependency.__dict__["requires_api_key"] = True
    return dependency


def _needs_key(dependant: Dependant) -> bool:
    return any(
        getattr(d.call, "requires_api_key", False) or _needs_key(d) for d in dependant.dependencies
    )


def keyed_operations(app: FastAPI) -> frozenset[str]:
    return frozenset(
        f"{method} {route.path_format}"
        for route in app.routes
        if isinstance(route, APIRoute) and _needs_key(route.dependant)
        for method in route.methods or ()
    )


def document_errors(app: FastAPI, notes: RouteNotes | None = None) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                ),
                notes,
                keyed_operations(app),
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
