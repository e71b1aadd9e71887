"""The organiser console's one composition root: reads its settings once, connects to the
public APIs it speaks to (backends.py) and mounts one router per area (pages/).

The console is a backend-for-frontend: server-rendered pages over the activity, badge and
evidence services' public HTTP APIs, called as the signed-in organiser. It keeps no state of
its own (no topic, no tables): a session is an organiser key minted by the activity service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import Route

from services.console.backends import BackendRefused, Backends, BackendUnavailable
from services.console.pages import (
    activities,
    badges,
    colleagues,
    dashboard,
    issuing,
    keys,
    playlists,
    reviews,
    sign_in,
)
from services.console.rendering import STATIC_DIR, redirect, render
from services.console.settings import ConsoleSettings
from services.console.signed_in import COOKIE, NotSignedIn, page_of, session_of
from services.kernel.http import mount, new_app
from services.kernel.web.pages import HEADINGS

log = logging.getLogger("services.console")
RETRY_AFTER_SECONDS = 5
UPLOAD_LIMIT = 2 * 1024 * 1024 + 64 * 1024


def _retry_target(request: Request) -> str:
    """Where "Try again" leads: the page itself, or for a form the page it was sent from."""
    if request.method == "GET":
        return str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    return page_of(request)


def install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(badges.NoBadgeYet)
    async def no_badge(request: Request, error: badges.NoBadgeYet) -> Response:
        return badges.no_badge_page(request, error)

    @app.exception_handler(issuing.IssuingClosed)
    async def issuing_closed(request: Request, error: issuing.IssuingClosed) -> Response:
        return issuing.issuing_closed_page(request, error)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, error: NotSignedIn) -> Response:
        response = redirect(error.sign_in_url)
        if COOKIE in request.cookies:
            response.delete_cookie(COOKIE, path="/")
        return response

    def try_again(request: Request, message: str) -> Response:
        response = render(
            request,
            "message.html",
            503,
            heading="Temporarily unavailable",
            message=message,
            retry=_retry_target(request),
        )
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response

    @app.exception_handler(BackendUnavailable)
    async def unavailable(request: Request, error: BackendUnavailable) -> Response:
        log.warning("%s %s: 503, %s", request.method, request.url.path, error)
        return try_again(
            request,
            f"The {error.service} service cannot be reached just now, so nothing was "
            "changed. Please try again in a few seconds.",
        )

    @app.exception_handler(BackendRefused)
    async def refused(request: Request, error: BackendRefused) -> Response:
        if error.status == 401:
            try:
                still_signed_in = await session_of(request) is not None
            except (BackendUnavailable, BackendRefused):
                still_signed_in = True  # the activity service cannot tell now: not for that
            if still_signed_in:
                # The activity service, which keeps sessions, still takes the key: the
                # service that refused it has not read it from the log yet (just restarted,
                # catching up). Signing out would end a session that is fine.
                log.warning(
                    "%s %s: 503, session not known there yet", request.method, request.url.path
                )
                return try_again(
                    request,
                    "Your sign-in has not reached every part of the console yet, so nothing "
                    "was changed. Please try again in a few seconds.",
                )
            # The session key expired or was revoked (signed out elsewhere, ended).
            raise_to = NotSignedIn(_retry_target(request))
            return await not_signed_in(request, raise_to)
        status = error.status if 400 <= error.status < 500 else 502
        return render(
            request,
            "message.html",
            status,
            heading=HEADINGS.get(status, "Not possible"),
            message=error.message,
            details=[f"{name}: {problem}" for name, problem in error.fields.items()],
        )


def add_health(app: FastAPI) -> None:
    @app.get("/health/live", include_in_schema=False)
    async def live() -> JSONResponse:
        return JSONResponse({"service": "console", "status": "alive"})

    async def ready(request: Request) -> JSONResponse:
        """Ready when the APIs it stands on answer: without them it can only say so."""
        backends: Backends = request.app.state.backends

        async def check(name: str) -> tuple[str, dict[str, object]]:
            backend = getattr(backends, name)
            try:
                answer = await backend.client.get("/health/live", timeout=2)
                ok = answer.status_code == 200
                problem = "" if ok else f"answered {answer.status_code}"
            except Exception as error:  # any failure to answer is the same: not there
                ok, problem = False, f"{type(error).__name__}: {error}"
            return name, {"ok": ok, "problem": problem}

        checks = dict(await asyncio.gather(*(check(n) for n in ("activity", "badge", "evidence"))))
        is_ready = all(bool(c["ok"]) for c in checks.values())
        return JSONResponse(
            {"service": "console", "ready": is_ready, "checks": checks},
            status_code=200 if is_ready else 503,
        )

    app.add_api_route("/health/ready", ready, methods=["GET"], include_in_schema=False)
    app.add_api_route("/health", ready, methods=["GET"], include_in_schema=False)


def build_app(settings: ConsoleSettings, backends: Backends | None = None) -> FastAPI:
    connected = backends or Backends.connect(
        settings.activity_url,
        settings.badge_url,
        settings.evidence_url,
        settings.backend_timeout_seconds,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await connected.close()

    app = new_app(
        "Organiser console",
        "Organisers' pages over the platform's public APIs.",
        # Uploads: a badge image (512 KiB) or a CSV of 10,000 rows, as the badge service takes.
        max_body_bytes=UPLOAD_LIMIT,
        public_urls=[settings.public_url],
    )
    app.router.lifespan_context = lifespan
    # The dashboard is the console's home: the kernel's service home page gives way to it.
    app.router.routes[:] = [
        route
        for route in app.router.routes
        if not (isinstance(route, Route) and route.path == "/" and "GET" in (route.methods or ()))
    ]
    app.state.settings = settings
    app.state.backends = connected
    app.mount("/assets", StaticFiles(directory=STATIC_DIR), name="assets")
    install_error_pages(app)
    add_health(app)
    mount(
        app,
        sign_in.router,
        dashboard.router,
        activities.router,
        playlists.router,
        keys.router,
        colleagues.router,
        badges.router,
        issuing.router,
        reviews.router,
    )
    return app
