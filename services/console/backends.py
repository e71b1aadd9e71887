"""The console's only way to the platform: the activity, badge and evidence services' public
HTTP APIs, called with the signed-in organiser's session key.

A refusal keeps its status and message (`BackendRefused`, shown on the page the organiser
was on); a service that cannot be reached, takes too long or answers 503 is
`BackendUnavailable` (the "try again" page). Nothing here keeps state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from services.console.signed_in import Session


class BackendUnavailable(Exception):
    """A backing service cannot answer just now (down, restarting, too slow, or 503)."""

    def __init__(self, service: str, detail: str = "") -> None:
        super().__init__(f"the {service} service is unavailable {detail}".strip())
        self.service = service


class BackendRefused(Exception):
    """A backing service refused the request (4xx): its status, its message, and the fields
    it named (`{"title": "..."}`), so a form can show each beside its control."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}


def _key(session: Session | str | None) -> str | None:
    """Who asks: a signed-in organiser's session, a bare key (signing in), or nobody."""
    if session is None or isinstance(session, str):
        return session
    return session.key


def _field_name(where: str) -> str:
    # "body.title" -> "title"; "body.place.name" -> "place.name"
    parts = where.split(".")
    return ".".join(parts[1:]) if parts and parts[0] in ("body", "query", "path") else where


def refusal_of(response: httpx.Response) -> BackendRefused:
    try:
        body = response.json()
    except ValueError:
        body = {}
    message = str(body.get("error") or body.get("detail") or response.reason_phrase)
    fields: dict[str, str] = {}
    details = body.get("details")
    if isinstance(details, list):
        for item in details:
            if isinstance(item, dict) and "where" in item:
                fields.setdefault(_field_name(str(item["where"])), str(item.get("problem", "")))
    return BackendRefused(response.status_code, message, fields)


@dataclass
class Backend:
    """One service's API, as the organiser sees it."""

    name: str
    client: httpx.AsyncClient

    async def raw(
        self,
        method: str,
        path: str,
        session: Session | str | None,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """The answer as it came (images, QR codes), after outages are told apart. Refusals
        (4xx) are returned too: the caller decides."""
        sent = {"accept": "application/json", **(headers or {})}
        key = _key(session)
        if key is not None:
            sent["authorization"] = f"Bearer {key}"
        try:
            response = await self.client.request(
                method, path, params=params, json=json, files=files, data=data, headers=sent
            )
        except (httpx.TransportError, httpx.TimeoutException) as error:
            raise BackendUnavailable(self.name, f"({type(error).__name__})") from error
        if response.status_code == 503 or response.status_code >= 500:
            raise BackendUnavailable(self.name, f"(it answered {response.status_code})")
        return response

    async def _json(
        self, method: str, path: str, session: Session | str | None, **kwargs: Any
    ) -> Any:
        response = await self.raw(method, path, session, **kwargs)
        if response.status_code >= 400:
            raise refusal_of(response)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    async def get(self, path: str, session: Session | str | None, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return await self._json("GET", path, session, params=clean)

    async def post(
        self,
        path: str,
        session: Session | str | None,
        json: Any = None,
        files: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        return await self._json(
            "POST", path, session, json=json, files=files, data=data, headers=headers
        )

    async def patch(
        self, path: str, session: Session | str | None, json: Any = None, files: Any = None
    ) -> Any:
        return await self._json("PATCH", path, session, json=json, files=files)

    async def put(
        self,
        path: str,
        session: Session | str | None,
        json: Any = None,
        files: Any = None,
        data: Any = None,
    ) -> Any:
        return await self._json("PUT", path, session, json=json, files=files, data=data)


@dataclass
class Backends:
    activity: Backend
    badge: Backend
    evidence: Backend

    @classmethod
    def connect(
        cls,
        activity_url: str,
        badge_url: str,
        evidence_url: str,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Backends:
        def backend(name: str, url: str) -> Backend:
            client = httpx.AsyncClient(
                base_url=url.rstrip("/"), timeout=timeout, transport=transport
            )
            return Backend(name, client)

        return cls(
            backend("activity", activity_url),
            backend("badge", badge_url),
            backend("evidence", evidence_url),
        )

    async def close(self) -> None:
        for backend in (self.activity, self.badge, self.evidence):
            await backend.client.aclose()
