"""Organisers signing in to the console without a password: an ask for an address becomes a
one-time, short-lived link for each organiser with that address, and using a link once makes
a session, an organiser key with purpose "session" and an expiry.

The ask is a fact appended the same way for any address (the answer tells nobody who is an
organiser); which organisers it reaches is decided off the request path, from the log. Only
the link's request id travels in events; its token is tagged under the claim token secret
(contracts/tokens.py), made by the notifier and checked here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from contracts import Envelope, derived_id
from contracts.activity import OrganiserKeyIssued, OrganiserSignInAsked, OrganiserSignInRequested
from contracts.tokens import OrganiserSignIn
from services.activity.domain.keys import NewKey
from services.activity.domain.organisations import check_email
from services.activity.domain.organisers import Member
from services.kernel.errors import Conflict, Forbidden, Gone, NotFound, ServiceUnavailable

# How long an emailed sign-in link works: long enough to open the mail, short enough that a
# link left in a mailbox is soon worth nothing.
SIGN_IN_LINK_LIFETIME = timedelta(minutes=15)
STARTED_FROM_MAX = 200


@dataclass(frozen=True)
class SignInAsk:
    ask_id: uuid.UUID
    email: str
    asked_at: datetime


@dataclass(frozen=True)
class SignInRequest:
    """One emailed link: whose, until when, and whether it has made its session."""

    request_id: uuid.UUID
    organiser_id: uuid.UUID
    organisation_id: uuid.UUID
    expires_at: datetime
    used: bool


def evolve_sign_in_ask(state: SignInAsk | None, envelope: Envelope[Any]) -> SignInAsk:
    """The ask's stream holds one event: the ask."""
    event = envelope.payload
    if isinstance(event, OrganiserSignInAsked):
        return SignInAsk(event.ask_id, event.email, envelope.occurred_at)
    raise ValueError(f"{envelope.event_type} is not an event of a sign-in ask")


def evolve_sign_in_request(state: SignInRequest | None, envelope: Envelope[Any]) -> SignInRequest:
    """A link is made by `OrganiserSignInRequested` and used up by the session key made from
    it (on the same organiser's stream)."""
    event = envelope.payload
    if isinstance(event, OrganiserSignInRequested):
        if state is not None:
            return state
        return SignInRequest(
            event.request_id, event.organiser_id, event.organisation_id, event.expires_at, False
        )
    if state is None:
        raise ValueError(f"{envelope.event_type} for a sign-in link that was never made")
    if isinstance(event, OrganiserKeyIssued) and event.sign_in_request_id == state.request_id:
        return replace(state, used=True)
    return state


def decide_sign_in_ask(ask_id: uuid.UUID, email: str) -> list[OrganiserSignInAsked]:
    """Always the ask, whatever the address (only a malformed one is refused): the answer
    must not tell who is an organiser."""
    return [OrganiserSignInAsked(ask_id=ask_id, email=check_email(email, "the email address"))]


def decide_sign_in_links(
    ask: SignInAsk, organisers: list[Member], *, now: datetime | None = None
) -> list[OrganiserSignInRequested]:
    """A link for each organiser (of any organisation) with the ask's address who is not
    removed; none for anyone else. Each link's id comes from the ask, so deciding again (a
    replay, a redelivery) makes the same link. `organisers` are those added by the time of
    the ask; an ask decided `now` that its links would already have expired reaches nobody
    (a link dead on arrival is no use, and a rebuild long after must mail nothing)."""
    if now is not None and now >= ask.asked_at + SIGN_IN_LINK_LIFETIME:
        return []
    wanted = ask.email.lower()
    reached = sorted(
        (m for m in organisers if m.email.lower() == wanted and not m.removed),
        key=lambda m: str(m.organiser_id),
    )
    return [
        OrganiserSignInRequested(
            request_id=derived_id(ask.ask_id, f"OrganiserSignInRequested:{member.organiser_id}"),
            organiser_id=member.organiser_id,
            organisation_id=member.organisation_id,
            email=member.email,
            expires_at=ask.asked_at + SIGN_IN_LINK_LIFETIME,
        )
        for member in reached
    ]


def started_from(user_agent: str, client: str) -> str | None:
    """What tells an organiser's sessions apart: the browser's own description (cut short)
    and the address it came from."""
    parts = [part for part in (_browser(user_agent), client.strip()) if part]
    return " · ".join(parts)[:STARTED_FROM_MAX] or None


def _browser(user_agent: str) -> str:
    agent = " ".join(user_agent.split())
    for name in ("Edg", "Firefox", "Chromium", "Chrome", "Safari"):
        if f"{name}/" in agent:
            browser = {"Edg": "Edge"}.get(name, name)
            break
    else:
        return agent[:80]
    for system in ("Android", "iPhone", "iPad", "Windows", "Mac OS X", "Linux"):
        if system in agent:
            return f"{browser} on {system.replace('Mac OS X', 'macOS')}"
    return browser


class SignInNotHereYet(ServiceUnavailable):
    """A sign-in link this service signed, for a request whose record has not committed yet:
    the notifier can mail the link a moment before the transaction that recorded the
    request ends. Nothing was changed; the same link works in a moment."""

    def __init__(self) -> None:
        super().__init__(
            "this sign-in link is still on its way: try it again in a moment", retry_after=1
        )


def decide_start_session(
    token: OrganiserSignIn | None,
    request: SignInRequest | None,
    organiser: Member | None,
    key: NewKey,
    *,
    now: datetime,
    lifetime: timedelta,
    where: str | None,
) -> list[OrganiserKeyIssued]:
    """A session key for the link's organiser, once: a used link is refused, as is an expired
    one, a forged one, and one whose organiser has since been removed; a genuine one whose
    request is not recorded yet asks to be tried again in a moment."""
    if token is None:
        raise NotFound("this sign-in link is not valid: ask for a new one")
    if request is None:
        if token.expired(now):
            raise Gone("this sign-in link has expired: ask for a new one")
        # Signed here, so its request is in the log: it is on its way to the read model.
        raise SignInNotHereYet()
    if request.request_id != token.request_id:
        raise NotFound("this sign-in link is not valid: ask for a new one")
    if request.used:
        raise Conflict("this sign-in link has already been used: ask for a new one")
    if token.expired(now) or now >= request.expires_at:
        raise Gone("this sign-in link has expired: ask for a new one")
    if organiser is None or organiser.removed:
        raise Forbidden("you are no longer an organiser of this organisation")
    return [
        OrganiserKeyIssued(
            organiser_id=organiser.organiser_id,
            organisation_id=organiser.organisation_id,
            key_id=key.key_id,
            secret_sha256=key.secret_sha256,
            purpose="session",
            expires_at=now + lifetime,
            sign_in_request_id=request.request_id,
            started_from=(where or None) and where[:STARTED_FROM_MAX],
        )
    ]
