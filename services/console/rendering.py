"""The console's pages: Jinja2 templates (autoescaped) in one layout with the navigation and
the flash message a redirect left behind.

A flash message is a short-lived cookie set by `redirect(..., flash=...)` and removed by the
next page that shows it, so a form that worked can say so after its redirect (POST, redirect,
GET) without the console keeping any state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, RedirectResponse

from services.kernel.web.pages import TEMPLATE_DIR as KERNEL_TEMPLATES

HERE = Path(__file__).parent
TEMPLATE_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
FLASH_COOKIE = "console_flash"
FLASH_KINDS = ("success", "error")

# The navigation, in order: (label, path). A page is "current" under its path.
NAV = (
    ("Dashboard", "/"),
    ("Activities", "/activities"),
    ("Playlists", "/playlists"),
    ("Review queue", "/reviews"),
    ("API keys", "/keys"),
    ("Colleagues", "/colleagues"),
)

templates = Environment(
    loader=FileSystemLoader([TEMPLATE_DIR, KERNEL_TEMPLATES]),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _current(request: Request, path: str) -> bool:
    here = request.url.path
    return here == "/" if path == "/" else here == path or here.startswith(path + "/")


def flash_of(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    kind, _, text = unquote(raw).partition(":")
    if kind not in FLASH_KINDS or not text:
        return None
    return {"kind": kind, "text": text[:500]}


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page, in the layout; the flash message left for it is shown once."""
    flash = flash_of(request)
    session = getattr(request.state, "session", None)
    nav = [
        {"label": label, "path": path, "current": _current(request, path)} for label, path in NAV
    ]
    body = templates.get_template(template).render(
        request=request, session=session, flash=flash, nav=nav, **context
    )
    response = HTMLResponse(body, status_code=status_code)
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(
    url: str, *, flash: str | None = None, kind: str = "success", status_code: int = 303
) -> RedirectResponse:
    """See other (303): after a form, the browser GETs the page it lands on."""
    response = RedirectResponse(url, status_code=status_code)
    if flash:
        assert kind in FLASH_KINDS
        response.set_cookie(
            FLASH_COOKIE,
            quote(f"{kind}:{flash[:500]}"),
            max_age=60,
            path="/",
            httponly=True,
            samesite="lax",
        )
    return response
