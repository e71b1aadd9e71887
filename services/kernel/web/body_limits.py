"""One body limit, enforced while the body streams in and before anything parses it.

JSON and form bodies are held to 64 KiB; multipart bodies (file uploads) to the service's own
upload limit. A body over its limit is answered 413, whether it declared its length or came
chunked: the parsers never see more than the limit, and no handler runs.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kernel.web.answers import error_answer
from services.kernel.web.route_notes import RouteNotes

JSON_BODY_LIMIT = 64 * 1024
# A refused body is read on (and dropped) up to this much, so that the 413 reaches the client.
DRAIN_LIMIT = 64 * 1024 * 1024


def _kib(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB" if size >= 1024 * 1024 else f"{size // 1024} KiB"


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        service: str,
        max_upload_bytes: int,
        router: Router | None = None,
        notes: RouteNotes | None = None,
        max_bytes: int = JSON_BODY_LIMIT,
    ) -> None:
        self.app = app
        self.service = service
        self.router = router
        # A route that takes more (a bulk issue of 10,000 addresses) says so in its note.
        self.larger = {
            operation: note.body_limit
            for operation, note in (notes or {}).items()
            if note.body_limit is not None
        }
        self.max_bytes = max_bytes
        self.max_upload_bytes = max(max_upload_bytes, max_bytes)

    def limit_for(self, scope: Scope, headers: Headers) -> int:
        content_type = headers.get("content-type", "").lower()
        if content_type.startswith("multipart/form-data"):
            return self.max_upload_bytes
        if self.larger and self.router is not None:
            for route in self.router.routes:
                if route.matches(scope)[0] == Match.FULL:
                    operation = f"{scope['method']} {getattr(route, 'path', '')}"
                    return self.larger.get(operation, self.max_bytes)
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.limit_for(scope, headers)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            if int(declared) <= DRAIN_LIMIT:
                await self._drain(receive, 0)
            await self._refuse(scope, headers, limit, send)
            return
        received = 0
        too_large = False
        body_done = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, too_large, body_done
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit:
                    too_large = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            # The framework turns a failed read into its own 400 "error parsing the body":
            # once the body was over the limit, the client hears 413 instead.
            if too_large and not started:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            # Whatever the reader made of the interrupted body, it is the 413 that stands.
            if not too_large:
                raise
        if too_large and not started:
            if not body_done:
                await self._drain(receive, received)
            await self._refuse(scope, headers, limit, send)

    async def _drain(self, receive: Receive, received: int) -> None:
        """Read the rest of the body and drop it, so the client, still sending, hears the 413:
        closing on unread data resets the connection and loses the answer. Up to a bound."""
        while received <= DRAIN_LIMIT:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                return
            received += len(message.get("body", b""))

    async def _refuse(self, scope: Scope, headers: Headers, limit: int, send: Send) -> None:
        response = error_answer(
            headers,
            413,
            f"the request body is larger than {limit} bytes ({_kib(limit)})",
            service=self.service,
            headers={"Connection": "close"},
        )
        await response(scope, _nothing, send)


class BodyTooLarge(Exception):
    """Raised into the parser reading the body, so it stops reading."""


async def _nothing() -> Message:
    return {"type": "http.disconnect"}
