"""Public API for organisers signing in to the console: ask for an emailed one-time link, and
exchange a link's token for a session key. Neither needs a key: these are how one is got."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from contracts.organiser_keys import key_prefix
from contracts.tokens import ClaimTokens
from services.activity import service_layer
from services.activity.domain.sign_in import SIGN_IN_LINK_LIFETIME, started_from
from services.activity.entrypoints.bodies import Body, Runtime
from services.kernel import rate_limits

router = APIRouter(prefix="/v1", tags=["sign-in"])


@dataclass(frozen=True)
class SignInSettings:
    """What the sign-in routes need, read once by the composition root."""

    tokens: ClaimTokens
    session_lifetime: timedelta


class SignInAsk(Body):
    email: str = Field(min_length=1, max_length=320, examples=["ana@riverside.example.org"])


class SessionAsk(Body):
    token: str = Field(min_length=1, max_length=100, description="The emailed link's token.")
    user_agent: str = Field(
        default="", max_length=1000, description="The organiser's browser, as it says."
    )
    client: str = Field(
        default="", max_length=100, description="The address the organiser's browser came from."
    )


class SessionOut(BaseModel):
    organisation_id: uuid.UUID
    organiser_id: uuid.UUID
    key_id: str
    prefix: str
    api_key: str = Field(description="The session key: shown this once; send it as a Bearer key.")
    expires_at: datetime


def _settings(request: Request) -> SignInSettings:
    settings: SignInSettings = request.app.state.sign_in
    return settings


@router.post(
    "/sign-in",
    status_code=202,
    responses=rate_limits.RESPONSES,
    summary="Email a one-time console sign-in link to an organiser's address",
)
async def ask_sign_in(body: SignInAsk, request: Request, runtime: Runtime) -> Response:
    """Answers the same, in the same time, whether or not the address is an organiser's: the
    ask is appended as it is, and a link (working once, for 15 minutes) is mailed to each
    organiser with that address. Limited per address and per client."""
    if (limited := await rate_limits.refusal(request, address=body.email)) is not None:
        return limited
    await service_layer.ask_sign_in(runtime, body.email)
    minutes = int(SIGN_IN_LINK_LIFETIME.total_seconds() // 60)
    return JSONResponse(
        {
            "message": "If this address belongs to an organiser, a sign-in link is on its way. "
            f"It works once, for {minutes} minutes."
        },
        status_code=202,
    )


@router.post("/sessions", status_code=201, summary="Exchange a sign-in link for a session key")
async def start_session(body: SessionAsk, request: Request, runtime: Runtime) -> SessionOut:
    """A session key (purpose "session", expiring) for the link's organiser. A link works
    once (409 after), until it expires (410); a forged one is 404; a genuine one whose request
    is still being recorded (the email can arrive a moment first) is 503 with Retry-After."""
    settings = _settings(request)
    session = await service_layer.start_session(
        runtime,
        settings.tokens.read_organiser_sign_in(body.token),
        lifetime=settings.session_lifetime,
        where=started_from(body.user_agent, body.client),
    )
    return SessionOut(
        organisation_id=session.organisation_id,
        organiser_id=session.organiser_id,
        key_id=session.key_id,
        prefix=key_prefix(session.key_id),
        api_key=session.api_key,
        expires_at=session.expires_at,
    )
