"""Limits on requests that send email: per recipient address, per client and per link.

The counters live in the service's PostgreSQL schema, so they hold across restarts and are
shared by every instance of a service. One call is one round trip: a PL/pgSQL function locks
the counters of the request's keys (in key order, so callers never deadlock), refuses if any
is spent, and otherwise counts the request against all of them. A refused request counts
against nothing, so hammering one limit does not use up another (a link's hourly quota cannot
be burnt by one client whose own limit already refuses it).

Each counter is a fixed window that opens at its first request: `hits` requests within
`window_seconds`, then refusals until the window ends (that end is the `Retry-After`).
"""

from __future__ import annotations

import asyncio
import html
import ipaddress
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.kernel.web.negotiation import wants_html

RATE_LIMITS_DDL = """
CREATE TABLE IF NOT EXISTS rate_limit_windows (
    key text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    window_seconds integer NOT NULL,
    hits integer NOT NULL
);
CREATE INDEX IF NOT EXISTS rate_limit_windows_by_start ON rate_limit_windows (window_start);
CREATE OR REPLACE FUNCTION rate_limit_take(keys text[], windows integer[], limits integer[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    at timestamptz := clock_timestamp();
    wait integer := 0;
    counter record;
BEGIN
    INSERT INTO rate_limit_windows (key, window_start, window_seconds, hits)
    SELECT k, at, w, 0 FROM unnest(keys, windows) AS t(k, w)
    ON CONFLICT (key) DO NOTHING;
    FOR counter IN
        SELECT r.window_start, r.hits, t.w, t.l
        FROM rate_limit_windows r JOIN unnest(keys, windows, limits) AS t(k, w, l) ON r.key = t.k
        ORDER BY r.key FOR UPDATE OF r
    LOOP
        IF counter.window_start + make_interval(secs => counter.w) > at
           AND counter.hits >= counter.l THEN
            wait := greatest(wait, ceil(extract(epoch FROM
                counter.window_start + make_interval(secs => counter.w) - at))::integer);
        END IF;
    END LOOP;
    IF wait > 0 THEN
        RETURN wait;
    END IF;
    UPDATE rate_limit_windows r SET
        hits = CASE WHEN r.window_start + make_interval(secs => t.w) <= at THEN 1
                    ELSE r.hits + 1 END,
        window_start = CASE WHEN r.window_start + make_interval(secs => t.w) <= at THEN at
                            ELSE r.window_start END,
        window_seconds = t.w
    FROM unnest(keys, windows) AS t(k, w) WHERE r.key = t.k;
    -- Now and then, forget counters whose window ended long ago (one row per address seen).
    IF random() < 0.01 THEN
        DELETE FROM rate_limit_windows
        WHERE window_start < at - interval '1 day' - make_interval(secs => window_seconds);
    END IF;
    RETURN 0;
END $$;
"""


class RateLimitSettings(BaseSettings):
    """Environment prefix RATE_LIMIT_. A limit of 0 switches that limit off."""

    model_config = SettingsConfigDict(env_prefix="RATE_LIMIT_", extra="ignore")

    per_address: int = Field(default=3, ge=0)
    address_window_seconds: int = Field(default=600, ge=1)
    per_client: int = Field(default=20, ge=0)
    client_window_seconds: int = Field(default=600, ge=1)
    per_link: int = Field(default=100, ge=0)
    link_window_seconds: int = Field(default=3600, ge=1)
    # Peers whose X-Forwarded-For is believed (a reverse proxy in front of the service):
    # comma-separated addresses or networks. Empty: the TCP peer is the client.
    trusted_proxies: str = ""

    @field_validator("trusted_proxies")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        _networks(value)
        return value


def _networks(value: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False)
        for part in value.split(",")
        if part.strip()
    )


def address_key(email: str) -> str:
    """The recipient as the limit sees it: trimmed, lower-cased, `+tag` folded, so that
    `ana+1@x`, `Ana+2@x` and `ana@x` share one limit."""
    local, at, domain = email.strip().lower().rpartition("@")
    if not at:
        return domain
    return f"{local.split('+', 1)[0]}@{domain}"


def _client_key(host: str) -> str:
    """IPv6 clients get a whole /64 each (one host usually holds the whole /64)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class Limit:
    key: str
    max_hits: int
    window_seconds: int


class RateLimiter:
    def __init__(self, pool: asyncpg.Pool, settings: RateLimitSettings) -> None:
        self._pool = pool
        self.settings = settings
        self._proxies = _networks(settings.trusted_proxies)
        self._installed = False
        self._installing = asyncio.Lock()

    def client_of(self, request: Request) -> str:
        """The TCP peer; behind a trusted proxy, the nearest X-Forwarded-For hop that is not
        itself a trusted proxy (hops further left are whatever the client chose to send)."""
        peer = request.client.host if request.client else ""
        if not self._trusted(peer):
            return _client_key(peer)
        hops = [
            hop.strip()
            for header in request.headers.getlist("x-forwarded-for")
            for hop in header.split(",")
            if hop.strip()
        ]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return _client_key(hop)
        return _client_key(hops[0] if hops else peer)

    def _trusted(self, host: str) -> bool:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(ip in network for network in self._proxies)

    def limits(
        self, request: Request, *, address: str | None = None, link: str | None = None
    ) -> list[Limit]:
        s = self.settings
        found = [Limit(f"client:{self.client_of(request)}", s.per_client, s.client_window_seconds)]
        if address is not None:
            found.append(
                Limit(f"address:{address_key(address)}", s.per_address, s.address_window_seconds)
            )
        if link is not None:
            found.append(Limit(f"link:{link}", s.per_link, s.link_window_seconds))
        return [limit for limit in found if limit.max_hits > 0]

    async def take(self, limits: list[Limit]) -> int:
        """Count one request against every limit; 0 if allowed, else seconds to wait."""
        if not limits:
            return 0
        await self._install()
        ordered = sorted({limit.key: limit for limit in limits}.values(), key=lambda lim: lim.key)
        async with self._pool.acquire() as conn:
            wait: int = await conn.fetchval(
                "SELECT rate_limit_take($1::text[], $2::integer[], $3::integer[])",
                [limit.key for limit in ordered],
                [limit.window_seconds for limit in ordered],
                [limit.max_hits for limit in ordered],
            )
        return wait

    async def _install(self) -> None:
        if self._installed:
            return
        async with self._installing:
            if self._installed:
                return
            async with self._pool.acquire() as conn, conn.transaction():
                # Several instances may start at once; CREATE OR REPLACE FUNCTION races itself.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('rate_limit_windows'))")
                await conn.execute(RATE_LIMITS_DDL)
            self._installed = True

    async def refusal(
        self, request: Request, *, address: str | None = None, link: str | None = None
    ) -> Response | None:
        """None if the request may go on; otherwise the 429 answer to send."""
        wait = await self.take(self.limits(request, address=address, link=link))
        return too_many_requests(request, wait) if wait else None


# For the OpenAPI document of each route that is limited.
RESPONSES: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "Too many emails asked for: nothing was sent; try again after "
        "`Retry-After` seconds (an HTML page, or JSON to `Accept: application/json`).",
        "headers": {
            "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
        },
        "content": {
            "text/html": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "error": {"type": "string"},
                        "retry_after_seconds": {"type": "integer"},
                        "retry_at": {"type": "string", "format": "date-time"},
                    },
                    "required": ["error", "retry_after_seconds", "retry_at"],
                }
            },
        },
    }
}


def too_many_requests(request: Request, wait_seconds: int) -> Response:
    until = datetime.now(UTC) + timedelta(seconds=wait_seconds)
    minutes = max(1, math.ceil(wait_seconds / 60))
    when = f"{minutes} minute{'s' if minutes != 1 else ''}"
    message = (
        f"Too many emails were asked for. Try again in {when} "
        f"(after {until:%H:%M} UTC); nothing was sent this time."
    )
    headers = {"Retry-After": str(wait_seconds), "Cache-Control": "no-store"}
    # Asked from a form people fill in: a page unless JSON is asked for.
    if not wants_html(request.headers, page_by_default=True):
        body: dict[str, Any] = {
            "error": message,
            "retry_after_seconds": wait_seconds,
            "retry_at": until.isoformat(timespec="seconds"),
        }
        return JSONResponse(body, status_code=429, headers=headers)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Please wait a moment</title></head><body><main>"
        "<h1>Please wait a moment</h1>"
        f"<p>{html.escape(message)}</p></main></body></html>"
    )
    return HTMLResponse(page, status_code=429, headers=headers)


async def refusal(
    request: Request, *, address: str | None = None, link: str | None = None
) -> Response | None:
    """For routes that send email: the app's limiter (made on first use from the environment
    and the runtime's pool), asked about this request."""
    state = request.app.state
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is None:
        limiter = state.rate_limiter = RateLimiter(state.runtime.pool, RateLimitSettings())
    return await limiter.refusal(request, address=address, link=link)
