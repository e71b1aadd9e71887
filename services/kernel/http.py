"""What every service's HTTP face shares: one `new_app` with clear errors (JSON for API
clients, a page for browsers; the status of each domain refusal from web/refusals.py), 503
while a dependency is down, security headers, Origin
checks on forms, one body limit, complete OpenAPI and API docs served from the service."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kernel.errors import DomainError, ServiceUnavailable
from services.kernel.web.answers import error_answer
from services.kernel.web.body_limits import JSON_BODY_LIMIT, BodyLimit
from services.kernel.web.home import add_home_and_docs
from services.kernel.web.openapi import document_errors
from services.kernel.web.origins import OriginCheck, origin_of
from services.kernel.web.outages import RETRY_AFTER_SECONDS, outage
from services.kernel.web.refusals import retry_after_of, status_of
from services.kernel.web.route_notes import RouteNotes
from services.kernel.web.security_headers import SecurityHeaders

log = logging.getLogger("services.kernel.http")
ADDRESS_NOT_VALID = (
    "this address is not complete or not valid: check that you opened the whole link"
)


def install_error_handlers(app: FastAPI) -> None:
    service = app.title

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, error: DomainError) -> Response:
        return error_answer(
            request.headers,
            status_of(error),
            error.message,
            service=service,
            retry_after=retry_after_of(error),
        )

    # Its own handler, so a service that tells its refusals its own way (evidence's pages)
    # still answers an outage with Retry-After.
    @app.exception_handler(ServiceUnavailable)
    async def unavailable(request: Request, error: ServiceUnavailable) -> Response:
        log.warning("%s %s: 503, %s", request.method, request.url.path, error.message)
        return error_answer(
            request.headers,
            status_of(error),
            error.message,
            service=service,
            retry_after=retry_after_of(error),
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        details = [
            {
                "where": ".".join(str(part) for part in item.get("loc", ())),
                "problem": item.get("msg", ""),
            }
            for item in error.errors()
        ]
        if any(item.get("type") == "json_invalid" for item in error.errors()):
            return error_answer(
                request.headers,
                400,
                "the request body is not valid JSON",
                service=service,
                details=details,
            )
        # An address a person opened (a link cut short, an id mistyped) is told as such.
        in_address = all(item["where"].startswith(("path", "query")) for item in details)
        return error_answer(
            request.headers,
            422,
            "the request is not valid",
            service=service,
            details=details,
            page_message=ADDRESS_NOT_VALID if in_address else None,
        )

    @app.exception_handler(asyncpg.DataError)
    async def unstorable(request: Request, error: asyncpg.DataError) -> Response:
        # Values pydantic let through that PostgreSQL cannot keep (a NUL character, say).
        return error_answer(
            request.headers,
            422,
            "the request holds a value that cannot be stored (such as a NUL)",
            service=service,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        # Unknown addresses (404), wrong methods (405, with its Allow header), and the like.
        if error.status_code == 405:
            error.headers = {"Allow": allowed_methods(app, request.scope)}
        return error_answer(
            request.headers,
            error.status_code,
            str(error.detail),
            service=service,
            headers=error.headers,
        )


def allowed_methods(app: FastAPI, scope: Scope) -> str:
    """Every method the address answers: one route per method, so the first route's 405 alone
    would name only its own."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


class LastResort:
    """An unexpected error still gets an answer in the platform's shape (a page for browsers,
    JSON for the others, with the security headers) and a traceback in the log.

    Every error no route handled comes here, whichever middleware or dependency raised it, so
    this is where an outage (`outages.outage`: PostgreSQL or Kafka unreachable, in any of the
    shapes a request caught mid-outage meets) is told from a bug: 503 with Retry-After and one
    log line, never a 500.
    """

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            down = outage(error)
            if down is None:
                log.exception("%s %s: 500", scope.get("method"), scope.get("path"))
            else:
                # One line, no traceback: the outage is not a bug, and it can last.
                log.warning(
                    "%s %s: 503, a dependency is unavailable (%s: %s)",
                    scope.get("method"),
                    scope.get("path"),
                    type(error).__name__,
                    error,
                )
            if started:
                raise
            request = Request(scope)
            if down is None:
                answer = error_answer(
                    request.headers,
                    500,
                    "something went wrong on our side; it has been logged",
                    service=self.service,
                )
            else:
                answer = error_answer(
                    request.headers,
                    503,
                    f"the service is unavailable for a moment ({down} cannot be reached); "
                    "nothing was changed, please try again shortly",
                    service=self.service,
                    retry_after=RETRY_AFTER_SECONDS,
                )
            await answer(scope, receive, send)


def new_app(
    title: str,
    description: str,
    max_body_bytes: int = JSON_BODY_LIMIT,
    public_urls: Sequence[str] = (),
    route_notes: RouteNotes | None = None,
) -> FastAPI:
    """The app a service adds its routes to.

    `max_body_bytes` is the service's upload limit (multipart bodies); every other body (JSON,
    forms) is held to 64 KiB. `public_urls` are the addresses people reach the service at
    (its settings' public URL): forms are accepted from these origins and the service's own.
    `route_notes` tell what some routes answer besides JSON, or take more than 64 KiB of.
    """
    app = FastAPI(
        title=title, description=description, version="1.0.0", docs_url=None, redoc_url=None
    )
    install_error_handlers(app)
    document_errors(app, route_notes)
    add_home_and_docs(app)
    origins = [found for url in public_urls if (found := origin_of(url))]
    # Added innermost first: the security headers wrap everything, the 500 answer included.
    app.add_middleware(
        BodyLimit,
        service=title,
        max_upload_bytes=max_body_bytes,
        router=app.router,
        notes=route_notes,
    )
    app.add_middleware(OriginCheck, service=title, public_urls=origins)
    app.add_middleware(LastResort, service=title)
    app.add_middleware(SecurityHeaders, public_origins=origins)
    return app


def mount(app: FastAPI, *routers: APIRouter) -> None:
    """Add each router's routes to the app's own list.

    Not `include_router`: FastAPI (0.165) keeps an included router as one entry it cannot see
    into, and the kernel reads the app's routes for what each address answers (the 405's
    Allow header, which operations take an API key in the OpenAPI document, per-route body
    limits).
    """
    for router in routers:
        app.router.routes.extend(router.routes)
