"""Headers every answer of every service carries: what a page may load, that it may not be
framed (no clickjacking of Accept, Approve, Confirm), no MIME sniffing, and no token leaking
through the Referer or a cache.

A route that sets its own policy (a badge image, an evidence file: stricter still) keeps it.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages reached through a token in the address: claim links, quest starts, sign-in and review
# links. Their address must not travel in a Referer nor stay in a cache.
TOKEN_PATH_PREFIXES = ("/claim/", "/quests/start/", "/sign-in/", "/reviews/")


def content_security_policy(origins: Iterable[str]) -> str:
    # Inline styles are allowed (the pages keep their small style sheet inline); inline scripts
    # are not: no page has one, and Swagger UI starts from a file.
    own = " ".join(["'self'", *sorted(origins)])
    return "; ".join(
        [
            "default-src 'self'",
            f"img-src {own} data:",
            "style-src 'self' 'unsafe-inline'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action {own}",
            "frame-ancestors 'none'",
        ]
    )


def holds_token(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    if path.startswith(TOKEN_PATH_PREFIXES):
        return True
    query = scope.get("query_string", b"").decode("latin-1")
    return any("token" in name.lower() for name, _ in parse_qsl(query, keep_blank_values=True))


class SecurityHeaders:
    def __init__(self, app: ASGIApp, public_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.policy = content_security_policy(public_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token_url = holds_token(scope)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", self.policy)
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if token_url:
                    headers["Referrer-Policy"] = "no-referrer"
                    headers["Cache-Control"] = "no-store"
                else:
                    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                    if "set-cookie" in headers:
                        # An answer that signs someone in is theirs alone.
                        headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)
