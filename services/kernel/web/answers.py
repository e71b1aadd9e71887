"""How a refusal is told: the JSON body API clients have always had, or a page for browsers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response

from services.kernel.web.negotiation import wants_html
from services.kernel.web.pages import error_page


def error_json(status: int, message: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status)


def error_answer(
    request_headers: Headers,
    status: int,
    message: str,
    *,
    service: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
    retry_after: int | None = None,
    page_message: str | None = None,
) -> Response:
    """JSON `{"error", "details"}` unless the client is a browser, which gets a page (saying
    `page_message` where a person needs other words than a program)."""
    if wants_html(request_headers):
        lines = (
            [f"{item['where']}: {item['problem']}" for item in details if isinstance(item, dict)]
            if isinstance(details, list)
            else []
        )
        response: Response = error_page(
            status,
            page_message or message,
            service=service,
            details=lines,
            retry_after=retry_after,
        )
    else:
        response = error_json(status, message, details)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response
