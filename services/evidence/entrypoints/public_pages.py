"""What the Assertion's evidence points at (a completed quest's approved evidence), and the
evidence files, each served only to those who may see it."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.evidence.adapters import read_models
from services.evidence.domain.addresses import normalise_email
from services.evidence.domain.evidence_files import content_disposition
from services.evidence.entrypoints.web import Web, answers, page
from services.kernel.errors import Forbidden, NotFound
from services.organiser_access import authenticate

router = APIRouter(tags=["public"])


@router.get("/evidence/{quest_id}", responses=answers(200, 404, 422))
async def evidence_page(quest_id: uuid.UUID, request: Request, web: Web) -> Response:
    """What the Assertion's evidence points at: the approved evidence of a completed quest."""
    async with web.runtime.pool.acquire() as conn:
        quest = await read_models.quest(conn, quest_id)
        latest = await read_models.latest_submissions(conn, quest_id) if quest else {}
    if quest is None or not quest.completed:
        raise NotFound("no evidence here")
    items = [
        {
            "title": t.title,
            "text": latest[t.task_id]["text"],
            "url": latest[t.task_id]["url"],
            "file_name": latest[t.task_id]["file_name"],
        }
        for t in quest.tasks
        if t.task_id in latest
    ]
    return page(request, "evidence.html", {"quest": quest, "items": items})


@router.get("/files/{submission_id}", responses=answers(401, 403, 404, 422))
async def evidence_file(
    submission_id: uuid.UUID,
    request: Request,
    web: Web,
    reviewer: str | None = None,
    token: str | None = None,
) -> Response:
    """Served only to its learner, the reviewers of that submission and the organisers."""
    async with web.runtime.pool.acquire() as conn:
        row = await read_models.submission_row(conn, submission_id)
        quest = await read_models.quest(conn, row["quest_id"]) if row else None
    if row is None or quest is None or not row["file_sha256"]:
        raise NotFound("file not found")
    allowed = False
    if reviewer and token:
        allowed = web.tokens.read_review(token, normalise_email(reviewer)) == submission_id
    elif request.headers.get("authorization"):
        organiser = await authenticate(web.runtime.pool, request)
        allowed = organiser.organisation_id == quest.issuer_id
    elif web.sessions.present(request):
        allowed = quest.learner_email in web.sessions.learners(request)
    if not allowed:
        raise Forbidden("this file is shown only to its learner, its reviewers and the organisers")
    data = web.files.get(row["file_sha256"])
    if data is None:
        raise NotFound("the file is missing from the store")
    return Response(
        data,
        media_type=row["file_media_type"],
        headers={
            "Content-Disposition": content_disposition(row["file_name"]),
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "X-Content-Type-Options": "nosniff",
        },
    )
