"""How the badge service answers people and programs alike: a page for a browser, the same
facts as JSON for a client that asks for JSON."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates

from services.kernel.web import negotiation

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def wants_html(request: Request) -> bool:
    """People's browsers ask for HTML first; verifiers ask for JSON(-LD)."""
    return negotiation.wants_html(request.headers)


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    if not wants_html(request):
        data = {
            key: value
            for key, value in context.items()
            if isinstance(value, str | int | bool | None) and key not in ("action",)
        }
        if "badge" in context and context["badge"] is not None:
            data["badge_name"] = context["badge"].name
        return JSONResponse(data, status_code=status)
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status)


def message(
    request: Request,
    status: int,
    heading: str,
    text: str,
    *,
    problem: bool = True,
    link: str | None = None,
    link_text: str = "",
    **context: Any,
) -> Response:
    """A page that says one thing (and offers one way on); as JSON, `status_name` names it."""
    context.setdefault("status_name", "problem" if problem else "ok")
    return page(
        request,
        "message.html",
        status,
        heading=heading,
        message=text,
        problem=problem,
        link=link,
        link_text=link_text,
        **context,
    )


def parse_id(text: str) -> uuid.UUID | None:
    """An id from an address; None for anything else, which then answers as not found."""
    try:
        return uuid.UUID(text)
    except ValueError:
        return None
