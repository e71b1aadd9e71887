"""The kernel's pages, in one style: a service's home page, its API docs and error pages.

A service's own pages can share the style: add `TEMPLATE_DIR` to its template folders and
`{% extends "kernel/base.html" %}` (blocks `title`, `head`, `main`; `/static/page.css`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

HERE = Path(__file__).parent
TEMPLATE_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

_templates = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(default=True)
)

HEADINGS = {
    400: "The request could not be read",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not possible at this address",
    409: "Not possible now",
    410: "No longer available",
    413: "Too large",
    415: "Not a supported format",
    422: "Something is not right",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    body = _templates.get_template(template).render(**context)
    return HTMLResponse(body, status_code=status_code)


def error_page(
    status: int,
    message: str,
    *,
    service: str,
    details: list[str] | None = None,
    retry_after: int | None = None,
) -> HTMLResponse:
    return render(
        "kernel/error.html",
        status,
        service=service,
        status=status,
        heading=HEADINGS.get(status, "Not possible"),
        message=message,
        details=details or [],
        retry_after=retry_after,
    )
