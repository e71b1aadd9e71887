"""Reviewers' pages: the emailed review link shows the evidence, the task and the criteria,
and takes the vote (a peer's, or an organiser's for organiser review)."""

from __future__ import annotations

import uuid
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from services.evidence import service_layer
from services.evidence.adapters import read_models
from services.evidence.domain.addresses import normalise_email
from services.evidence.entrypoints.web import EvidenceWeb, Web, answers, message, page, wants_page
from services.kernel.errors import BadRequest, DomainError, NotFound
from services.kernel.web.refusals import status_of

router = APIRouter(tags=["reviewers"])


def reviewed_submission(
    web: EvidenceWeb, token: str, reviewer: str | None
) -> tuple[uuid.UUID, str]:
    address = normalise_email(reviewer or "")
    submission_id = web.tokens.read_review(token, address) if address else None
    if submission_id is None:
        raise NotFound(
            "This review link is not valid. Open the whole link from your email "
            "(it ends with your address)."
        )
    return submission_id, address


async def _review_view(
    web: EvidenceWeb, token: str, submission_id: uuid.UUID, reviewer: str
) -> dict[str, Any]:
    async with web.runtime.pool.acquire() as conn:
        submission = await read_models.submission(conn, submission_id)
        quest = await read_models.quest(conn, submission.quest_id) if submission else None
        badge = await read_models.badge(conn, quest.badge_class_id) if quest else None
        vote = await read_models.review_by(conn, submission_id, reviewer)
    if submission is None or quest is None:
        raise NotFound("submission not found")
    task = quest.task(submission.task_id)
    return {
        "submission": submission,
        "badge_name": quest.badge_name,
        "criteria": badge.criteria if badge else "",
        "task": task,
        "vote": vote,
        "file_url": f"/files/{submission_id}?" + urlencode({"reviewer": reviewer, "token": token}),
        "action": f"/reviews/{token}?{urlencode({'reviewer': reviewer})}",
        "error": "",
        "feedback": "",
    }


@router.get("/reviews/{token}", responses=answers(200, 404))
async def review_page(
    token: str, request: Request, web: Web, reviewer: str | None = None
) -> Response:
    """A reviewer's emailed link: the evidence, the task and the criteria, and the vote
    (or the vote already given)."""
    submission_id, address = reviewed_submission(web, token, reviewer)
    view = await _review_view(web, token, submission_id, address)
    if not wants_page(request):
        submission = view["submission"]
        return JSONResponse(
            {
                "submission_id": str(submission_id),
                "status": submission.status,
                "task": view["task"].title,
                "text": submission.text,
                "url": submission.url,
                "file": submission.file_name,
                "your_vote": view["vote"]["verdict"] if view["vote"] else None,
            }
        )
    return page(request, "review.html", view)


@router.post("/reviews/{token}", responses=answers(200, 400, 403, 404, 409, 422))
async def review(
    token: str,
    request: Request,
    web: Web,
    reviewer: str | None = None,
    verdict: Literal["approve", "reject"] | None = Form(default=None),
    feedback: str = Form(default="", max_length=5_000),
) -> Response:
    """A vote through the emailed link: a peer's, or an organiser's for organiser review."""
    submission_id, address = reviewed_submission(web, token, reviewer)
    try:
        if verdict is None:
            raise BadRequest("Choose Approve or Ask for changes.")
        await service_layer.review(web.runtime, submission_id, address, None, verdict, feedback)
    except DomainError as error:
        if not wants_page(request):
            raise
        view = await _review_view(web, token, submission_id, address)
        view.update(error=error.message, feedback=feedback)
        return page(request, "review.html", view, status_code=status_of(error))
    if not wants_page(request):
        return JSONResponse({"submission_id": str(submission_id), "recorded": verdict})
    return message(
        request,
        "Thank you",
        "Your review is recorded."
        + (" The learner gets your feedback by email." if verdict == "reject" else ""),
        tone="success",
        back=(f"/reviews/{token}?{urlencode({'reviewer': address})}", "See your review"),
    )
