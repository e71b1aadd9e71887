"""The organisers' API: the submissions waiting for their organisation's review, one submission
with everything its review needs (its quest's tasks and evidence, the badge's criteria), its
file, and their verdict on one (authenticated by API key)."""

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
from services.evidence.domain.evidence_files import SHOWN_INLINE, content_disposition, served_as
from services.evidence.domain.home import MAX_INVITEES, MAX_NOTE, Inviter, decide_invitation
from services.evidence.domain.quests import Quest
from services.evidence.entrypoints.home_pages import invitation_refusal
from services.evidence.entrypoints.web import EvidenceWeb, Web, answers
from services.kernel import rate_limits
from services.kernel.errors import Forbidden, Invalid, NotFound
from services.organiser_access import CurrentOrganiser, Organiser

router = APIRouter(prefix="/v1", tags=["organisers"])


class OrganiserReview(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    verdict: Literal["approve", "reject"]
    feedback: str = Field(default="", max_length=5_000)


@router.get("/review-queue", responses=answers(401))
async def review_queue(organiser: CurrentOrganiser, web: Web) -> list[dict[str, Any]]:
    """Submissions waiting for your organisation's review (organiser-reviewed badges, and
    peer-reviewed ones that had too few reviewers when submitted), oldest first."""
    async with web.runtime.pool.acquire() as conn:
        return await read_models.review_queue(conn, organiser.organisation_id)


async def _organisations_submission(
    web: EvidenceWeb, organiser: Organiser, submission_id: uuid.UUID
) -> tuple[dict[str, Any], Quest]:
    """The submission and its quest, if the quest's badge is the organiser's organisation's."""
    async with web.runtime.pool.acquire() as conn:
        row = await read_models.submission_row(conn, submission_id)
        quest = await read_models.quest(conn, row["quest_id"]) if row else None
    if row is None or quest is None:
        raise NotFound("submission not found")
    if quest.issuer_id != organiser.organisation_id:
        raise Forbidden("this submission is for another organisation's badge")
    return row, quest


def _evidence(row: dict[str, Any]) -> dict[str, Any]:
    """What a submission holds, its file told as it will be served."""
    file = None
    if row["file_sha256"]:
        served = served_as(row["file_media_type"] or "")
        file = {
            "name": row["file_name"],
            "media_type": row["file_media_type"],
            "size": row["file_size"],
            "inline": served.inline,
            "url": f"/v1/submissions/{row['submission_id']}/file",
        }
    return {
        "submission_id": row["submission_id"],
        "status": row["status"],
        "feedback": row["feedback"],
        "submitted_at": row["submitted_at"],
        "text": row["text"],
        "url": row["url"],
        "file": file,
    }


@router.get("/submissions/{submission_id}", responses=answers(200, 401, 403, 404, 422))
async def submission_for_review(
    submission_id: uuid.UUID, organiser: CurrentOrganiser, web: Web
) -> dict[str, Any]:
    """One submission as its review needs it: the learner, the badge with its criteria, the
    task and the evidence (text, link, file: `inline` says whether a browser may open it in
    place), its reviews, whether it waits for the organisers (`awaiting_organisers`), and
    every task of the quest with its latest evidence and the task's earlier submissions."""
    row, quest = await _organisations_submission(web, organiser, submission_id)
    async with web.runtime.pool.acquire() as conn:
        badge = await read_models.badge(conn, quest.badge_class_id)
        history = await read_models.submissions_of(conn, quest.quest_id)
        reviews = await read_models.reviews_of(conn, submission_id)
    by_task: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for earlier in history:  # newest first within each task
        by_task.setdefault(earlier["task_id"], []).append(earlier)
    role = row["review_role"] or quest.evidence_mode
    task = quest.task(row["task_id"])
    return {
        **_evidence(row),
        "quest_id": quest.quest_id,
        "learner_email": quest.learner_email,
        "review_role": role,
        "awaiting_organisers": row["status"] == "pending" and role == "organiser",
        "badge": {
            "badge_class_id": quest.badge_class_id,
            "name": badge.name if badge else quest.badge_name,
            "criteria": badge.criteria if badge else "",
        },
        "task": task.model_dump(mode="json") if task else None,
        "reviews": reviews,
        "earlier": [
            _evidence(s)
            for s in by_task.get(row["task_id"], [])
            if s["submission_id"] != submission_id
        ],
        "tasks": [
            {
                **t.model_dump(mode="json"),
                "this": t.task_id == row["task_id"],
                "latest": _evidence(by_task[t.task_id][0]) if t.task_id in by_task else None,
            }
            for t in quest.tasks
        ],
    }


@router.get(
    "/submissions/{submission_id}/file",
    response_class=Response,
    responses={
        200: {
            "description": "The file: images, PDF and plain text with their own type and "
            "`Content-Disposition: inline`; anything else as `application/octet-stream`, "
            "an attachment",
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}}
                for t in (*sorted(SHOWN_INLINE), "application/octet-stream")
            },
        },
        **answers(401, 403, 404, 422),
    },
)
async def submission_file(
    submission_id: uuid.UUID, organiser: CurrentOrganiser, web: Web
) -> Response:
    """The submission's file, for the organisers of its badge's organisation only; always
    under `Content-Security-Policy: default-src 'none'; sandbox` and `nosniff`."""
    row, _ = await _organisations_submission(web, organiser, submission_id)
    data = web.files.get(row["file_sha256"]) if row["file_sha256"] else None
    if data is None:
        raise NotFound("the file is missing from the store" if row["file_sha256"] else "no file")
    served = served_as(row["file_media_type"] or "")
    return Response(
        data,
        media_type=served.content_type,
        headers={
            "Content-Disposition": content_disposition(row["file_name"], inline=served.inline),
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )


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
