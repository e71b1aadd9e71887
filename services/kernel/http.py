"""What every service's HTTP face shares: clear JSON errors and a cap on request bodies."""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kernel.errors import DomainError


def _error(status: int, message: str, details: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if details is not None:
        body["details"] = details
    return JSONResponse(body, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, error: DomainError) -> JSONResponse:
        return _error(error.status_code, error.message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {
                "where": ".".join(str(part) for part in item.get("loc", ())),
                "problem": item.get("msg", ""),
            }
            for item in error.errors()
        ]
        if any(item.get("type") == "json_invalid" for item in error.errors()):
            return _error(400, "the request body is not valid JSON", details)
        return _error(422, "the request is not valid", details)

    @app.exception_handler(asyncpg.DataError)
    async def unstorable(_: Request, error: asyncpg.DataError) -> JSONResponse:
        # Values pydantic let through that PostgreSQL cannot keep (a NUL character, say).
        return _error(422, "the request holds a value that cannot be stored (such as a NUL)")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return _error(error.status_code, str(error.detail), None)


class BodyLimit:
    """Refuses request bodies over `max_bytes` with 413 before any handler sees them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        response = _error(413, f"the request body is larger than {self.max_bytes} bytes")
        await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


class _TooLarge(Exception):
    pass


def new_app(title: str, description: str, max_body_bytes: int = 64 * 1024) -> FastAPI:
    app = FastAPI(title=title, description=description, version="1.0.0")
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    return app
