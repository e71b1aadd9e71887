"""Who is signed in to the console: the organiser behind the session cookie.

The cookie holds an organiser key with purpose "session", minted by the activity service when
an emailed sign-in link is used; the console keeps nothing itself and asks the activity
service who the key belongs to on each request. No cookie, or a key that is expired, revoked
or unknown: the browser is sent to the sign-in page, and back here after signing in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request

from contracts.organiser_keys import MalformedKey, key_prefix, parse_api_key
from services.console.backends import BackendRefused, Backends

COOKIE = "console_session"


@dataclass(frozen=True)
class Session:
    organiser_id: uuid.UUID
    organisation_id: uuid.UUID
    email: str
    key: str
    name: str = ""
    organisation_name: str = ""
    is_admin: bool = False

    @property
    def key_id(self) -> str:
        return parse_api_key(self.key)[0]

    @property
    def key_prefix(self) -> str:
        return key_prefix(self.key_id)


class NotSignedIn(Exception):
    """The request needs a signed-in organiser; `next` is where to come back to."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in first")
        self.next_path = next_path

    @property
    def sign_in_url(self) -> str:
        return "/sign-in?" + urlencode({"next": self.next_path})


def safe_next(value: str | None) -> str:
    """A path on this console to go to after signing in; anything else (another site,
    `//host`, a scheme) becomes the dashboard."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def page_of(request: Request) -> str:
    """The console page a form was sent from (its Referer's path), else the dashboard."""
    referer = urlsplit(request.headers.get("referer", ""))
    if not referer.path or (referer.netloc and referer.netloc != request.url.netloc):
        return "/"
    return referer.path + (f"?{referer.query}" if referer.query else "")


def backends_of(request: Request) -> Backends:
    backends: Backends = request.app.state.backends
    return backends


async def session_of(request: Request) -> Session | None:
    """The signed-in organiser, or None."""
    key = request.cookies.get(COOKIE)
    if not key:
        return None
    try:
        parse_api_key(key)
    except MalformedKey:
        return None
    try:
        me = await backends_of(request).activity.get("/v1/me", key)
    except BackendRefused as refused:
        if refused.status in (401, 403):
            return None
        raise
    organiser = me.get("organiser") or {}
    organisation = me.get("organisation") or {}
    session = Session(
        organiser_id=uuid.UUID(str(organiser["organiser_id"])),
        organisation_id=uuid.UUID(str(organiser["organisation_id"])),
        email=str(organiser.get("email", "")),
        key=key,
        name=str(organiser.get("name", "")),
        organisation_name=str(organisation.get("name", "")),
        is_admin=bool(organiser.get("is_admin", False)),
    )
    request.state.session = session
    return session


async def _signed_in(request: Request) -> Session:
    session = await session_of(request)
    if session is None:
        path = request.url.path
        if request.url.query:
            path += "?" + request.url.query
        # After a form post, come back to the page the form was on rather than the post.
        if request.method != "GET":
            path = page_of(request)
        raise NotSignedIn(safe_next(path))
    return session


# A route parameter of this type requires a signed-in organiser.
SignedIn = Annotated[Session, Depends(_signed_in)]
