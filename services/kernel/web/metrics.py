"""Every service's `/metrics` (Prometheus' text format) and what the HTTP layer adds to it: each
request's latency by method, route template and status. The same layer gives each request its
correlation id (the caller's `X-Request-ID` when it sends a sensible one, else a new one),
answered back in `X-Request-ID` and carried by every log line written while it runs."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kernel import logs
from services.kernel.metrics import METRICS, Metrics

if TYPE_CHECKING:
    from services.kernel.runtime import ServiceRuntime

log = logging.getLogger(__name__)

# The label of a request no route matched (a 404): never its raw path, which anyone can vary.
UNMATCHED = "unmatched"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def route_of(scope: Scope) -> str:
    """The template of the route that answered (`/v1/badges/{badge_id}`), or UNMATCHED."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def request_id_of(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            given: str = value.decode("latin-1")
            if _REQUEST_ID.match(given):
                return given
    return uuid.uuid4().hex


class RequestMetrics:
    """Times each request from its arrival to its last byte, and labels it once routed."""

    def __init__(self, app: ASGIApp, metrics: Metrics = METRICS) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if nothing was answered
        request_id = request_id_of(scope)

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
                message["headers"] = headers
            await send(message)

        with logs.about_request(request_id):
            try:
                await self.app(scope, receive, observed_send)
            finally:
                self.metrics.http_request_duration.labels(
                    scope.get("method", ""), route_of(scope), str(status)
                ).observe(time.perf_counter() - started)


async def exposition(runtime: ServiceRuntime, metrics: Metrics = METRICS) -> bytes:
    """The registry as Prometheus reads it, with the consumer's progress read for this scrape."""
    try:
        partitions: list[dict[str, Any]] | None = await runtime.consumer.progress()
    except Exception as error:  # PostgreSQL away: the scrape still answers, saying so
        log.warning("metrics: consumer offsets unreadable (%r)", error)
        partitions = None
    metrics.consumer_progress(partitions)
    return generate_latest(metrics.registry)


def add_metrics(app: FastAPI, runtime: ServiceRuntime) -> None:
    """`GET /metrics`, and request latency for every route of the app."""

    async def scrape() -> Response:
        return Response(await exposition(runtime), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route(
        "/metrics",
        scrape,
        methods=["GET"],
        tags=["operations"],
        summary="Prometheus metrics: consumer lag, events applied, HTTP latency",
        include_in_schema=False,
    )
    app.add_middleware(RequestMetrics)
