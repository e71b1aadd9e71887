"""The organisers' API: the submissions waiting for their organisation's review, and their
verdict on one (authenticated by API key)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from services.evidence import service_layer
from services.evidence.adapters import read_models
from services.evidence.domain.addresses import normalise_email
from services.evidence.domain.home import MAX_INVITEES, MAX_NOTE, Inviter, decide_invitation
from services.evidence.entrypoints.home_pages import invitation_refusal
from services.evidence.entrypoints.web import Web, answers
from services.kernel import rate_limits
from services.kernel.errors import Invalid
from services.organiser_access import CurrentOrganiser

router = APIRouter(prefix="/v1", tags=["organisers"])


class OrganiserReview(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    verdict: Literal["approve", "reject"]
    feedback: str = Field(default="", max_length=5_000)


@router.get("/review-queue", responses=answers(401))
async def review_queue(organiser: CurrentOrganiser, web: Web) -> list[dict[str, Any]]:
    """Submissions waiting for your organisation's review (organiser-reviewed badges, and
    peer-reviewed ones that had too few reviewers when submitted)."""
    async with web.runtime.pool.acquire() as conn:
        return await read_models.review_queue(conn, organiser.organisation_id)


@router.post("/submissions/{submission_id}/review", responses=answers(401, 403, 404, 409, 422))
async def organiser_review(
    submission_id: uuid.UUID, body: OrganiserReview, organiser: CurrentOrganiser, web: Web
) -> dict[str, Any]:
    """`feedback` is required to ask for changes (`reject`): 422 without it."""
    async with web.runtime.pool.acquire() as conn:
        email = await read_models.organiser_email(conn, organiser.organiser_id)
    await service_layer.review(
        web.runtime,
        submission_id,
        email or str(organiser.organiser_id),
        "organiser",
        body.verdict,
        body.feedback,
        organisation_id=organiser.organisation_id,
    )
    return {"submission_id": str(submission_id), "recorded": body.verdict}


class PlaylistInvitation(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    emails: list[str] = Field(min_length=1, max_length=MAX_INVITEES)
    note: str = Field(default="", max_length=MAX_NOTE)


@router.post(
    "/playlists/{playlist_id}/invitations",
    status_code=201,
    responses={**answers(201, 401, 403, 404, 422), **rate_limits.RESPONSES},
)
async def invite_to_playlist(
    playlist_id: uuid.UUID,
    body: PlaylistInvitation,
    organiser: CurrentOrganiser,
    request: Request,
    web: Web,
) -> Response:
    """Invite people by email to one of your organisation's published playlists; each gets an
    email linking the playlist's public catalogue page. Limited per organiser and per invited
    address (429 with `Retry-After`)."""
    invitees, wrong = [], []
    for email in body.emails:
        try:
            invitees.append(
                normalise_email(validate_email(email, check_deliverability=False).normalized)
            )
        except EmailNotValidError:
            wrong.append(email)
    if wrong:
        raise Invalid("these are not email addresses: " + ", ".join(wrong[:5]))
    async with web.runtime.pool.acquire() as conn:
        name = await read_models.organiser_name(conn, organiser.organiser_id)
        playlist = await read_models.playlist(conn, playlist_id)
    inviter = Inviter("organiser", name or "An organiser", organiser.organisation_id)
    # Refused before anything is counted against the limits: the same rules decide it again.
    decide_invitation(uuid.uuid4(), playlist, inviter, invitees, body.note)
    sender = f"organiser:{organiser.organiser_id}"
    if (limited := await invitation_refusal(request, web, sender, invitees)) is not None:
        return limited
    sent = await service_layer.invite_to_playlist(
        web.runtime, playlist_id, inviter, invitees, body.note
    )
    return JSONResponse(
        {"invitation_id": str(sent.invitation_id), "invited": list(sent.invitees)},
        status_code=201,
    )
