"""Cross-site form posts are refused: an unsafe request that a browser could have sent from
another site (it carries cookies, or is a form) must come from one of the service's own origins.

Browsers name the page a request came from in `Origin` (and `Sec-Fetch-Site`, `Referer`); a
forged form on another site cannot hide that. Clients that send none of them are not browsers
(curl, the API clients) and are let through, as are API calls with a key and no cookies: a
browser never adds an `Authorization` header to a cross-site form by itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from services.kernel.web.answers import error_answer

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# What an HTML form (or a no-preflight fetch) can send to another site.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of a URL, lower-cased, without a default port."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def session_cookie_secure(public_url: str) -> bool:
    """Whether a cookie for this public URL gets `Secure`: always when it is served over HTTPS
    (also behind a proxy that speaks plain HTTP to the service)."""
    return urlsplit(public_url.strip()).scheme.lower() == "https"


class OriginCheck:
    def __init__(self, app: ASGIApp, service: str, public_urls: Iterable[str] = ()) -> None:
        self.app = app
        self.service = service
        self.allowed = {found for url in public_urls if (found := origin_of(url))}

    def needs_check(self, scope: Scope, headers: Headers) -> bool:
        if scope["method"] in SAFE_METHODS:
            return False
        has_cookies = "cookie" in headers
        if "authorization" in headers and not has_cookies:
            return False
        content_type = headers.get("content-type", "").lower()
        return has_cookies or not content_type or content_type.startswith(FORM_TYPES)

    def own_origins(self, scope: Scope, headers: Headers) -> set[str]:
        # The address the browser itself used (its Host header) is ours too: a forged form on
        # another site cannot choose it. Behind a proxy, the public URLs name the outside one.
        scheme = scope.get("scheme", "http")
        host = headers.get("host")
        found = origin_of(f"{scheme}://{host}") if host else None
        return self.allowed | ({found} if found else set())

    def refusal(self, scope: Scope, headers: Headers) -> str | None:
        origin = headers.get("origin")
        # A page served with `Referrer-Policy: no-referrer` (the token pages) posts its forms
        # with `Origin: null`; Sec-Fetch-Site still tells where they came from.
        if origin == "null":
            site = headers.get("sec-fetch-site")
            if site == "same-origin":
                return None
            return "this form was sent from a page of unknown origin, so it was refused"
        if origin is not None:
            if origin_of(origin) in self.own_origins(scope, headers):
                return None
            return f"this form was sent from another site ({origin[:100]}), so it was refused"
        site = headers.get("sec-fetch-site")
        if site is not None:
            if site in ("same-origin", "none"):
                return None
            return "this form was sent from another site, so it was refused"
        referer = headers.get("referer")
        if referer is not None:
            if origin_of(referer) in self.own_origins(scope, headers):
                return None
            return "this form was sent from another site, so it was refused"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            if self.needs_check(scope, headers):
                refused = self.refusal(scope, headers)
                if refused is not None:
                    answer = error_answer(
                        headers,
                        403,
                        refused + ". Open the page on this site and send it from there.",
                        service=self.service,
                    )
                    await answer(scope, receive, send)
                    return
        await self.app(scope, receive, send)
