"""Learners' pages: starting a quest from a claim link, signing in again, the quest with its
tasks, uploading evidence, and confirming it (self-approval)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response

from contracts.evidence import FileRef
from contracts.tokens import PersonalToken
from services.evidence import service_layer
from services.evidence.adapters import read_models
from services.evidence.adapters.files import StagedFile
from services.evidence.domain.addresses import normalise_email
from services.evidence.domain.badges import Badge
from services.evidence.domain.evidence_files import EXTENSIONS, clean_filename, sniff
from services.evidence.domain.limits import accept_attribute, limits_said
from services.evidence.domain.quests import LinkExpired, Quest, check_evidence, check_start_link
from services.evidence.entrypoints.web import (
    EvidenceWeb,
    Web,
    answers,
    learners,
    message,
    owned_quest,
    page,
    sign_in_page,
    wants_page,
)
from services.kernel import rate_limits
from services.kernel.errors import BadRequest, DomainError, NotFound
from services.kernel.web.refusals import status_of

router = APIRouter(tags=["learners"])

STATUS_TEXT = {
    "open": "Not submitted yet",
    "pending": "Submitted: waiting for review",
    "approved": "Approved",
    "rejected": "Returned: please submit again",
}


def valid_email(email: str) -> str:
    """The address as typed, if it is one, normalised as every address here is."""
    return normalise_email(validate_email(email.strip(), check_deliverability=False).normalized)


# -- starting a quest ------------------------------------------------------------------------


async def _offer_behind(web: EvidenceWeb, token: str) -> tuple[uuid.UUID, Badge, Quest | None]:
    named = web.tokens.read(token)
    if not isinstance(named, PersonalToken):
        raise NotFound("This link is not valid. Open the whole link from your email.")
    async with web.runtime.pool.acquire() as conn:
        offer = await read_models.offer(conn, named.offer_id)
        badge = await read_models.badge(conn, offer.badge_class_id) if offer else None
        quest = await read_models.quest_for_offer(conn, named.offer_id)
    check_start_link(offer, badge, datetime.now(UTC))
    assert badge is not None
    return named.offer_id, badge, quest


@router.get("/quests/start/{token}", responses=answers(200, 404, 410, 503))
async def start_page(token: str, request: Request, web: Web) -> Response:
    """The link from the badge's claim page: a page whose button starts (or resumes) the
    quest and signs this browser in."""
    _, badge, quest = await _offer_behind(web, token)
    if not wants_page(request):
        return JSONResponse(
            {
                "badge_name": badge.name,
                "started": quest is not None,
                "start": "POST this address to start or resume the quest and sign in",
            }
        )
    return page(
        request,
        "continue.html",
        {
            "title": f"Your quest for “{badge.name}”",
            "text": (
                "Your quest is under way: continue where you left off."
                if quest
                else "This badge asks you to show your work, task by task. Start your "
                "quest to see the tasks."
            ),
            "action": f"/quests/start/{token}",
            "button": "Continue your quest" if quest else "Start your quest",
        },
    )


@router.post("/quests/start/{token}", responses=answers(200, 303, 404, 409, 410, 503))
async def start(token: str, request: Request, web: Web) -> Response:
    """Starts (or resumes) the quest and signs in."""
    offer_id, _, _ = await _offer_behind(web, token)
    quest = await service_layer.start_quest(web.runtime, offer_id)
    target = f"/quests/{quest.quest_id}"
    response: Response = (
        RedirectResponse(target, status_code=303)
        if wants_page(request)
        else JSONResponse({"quest_id": str(quest.quest_id), "quest_url": web.public_url + target})
    )
    return web.sessions.sign_in(response, quest.learner_email, request)


# -- signing in ------------------------------------------------------------------------------


@router.get("/sign-in", responses=answers(200))
async def sign_in_form(request: Request) -> Response:
    """Ask for a link that signs you in to your quests."""
    if not wants_page(request):
        return JSONResponse({"sign_in": "POST an email field to this address"})
    return sign_in_page(request)


@router.post(
    "/sign-in",
    status_code=202,
    responses={**answers(202, 400, 422, 503), **rate_limits.RESPONSES},
)
async def sign_in(
    request: Request, web: Web, email: str = Form(default="", max_length=320)
) -> Response:
    """A fresh link to your quests, by email, at any time. The answer is the same, and
    as quick, whether the address has quests or not."""
    try:
        address = valid_email(email)
    except EmailNotValidError as error:
        problem = f"That email address is not valid: {error}"
        if not wants_page(request):
            raise BadRequest(problem) from error
        return sign_in_page(request, problem, email, status_code=400)
    if (limited := await rate_limits.refusal(request, address=address)) is not None:
        return limited
    await service_layer.request_sign_in(web.runtime, address)
    said = f"If {address} has a quest under way, a link to it is on its way."
    if not wants_page(request):
        return JSONResponse({"message": said}, status_code=202)
    return message(request, "Check your inbox", said, tone="success", status_code=202)


def _sign_in_link(web: EvidenceWeb, token: str, email: str | None) -> tuple[uuid.UUID, str]:
    address = normalise_email(email or "")
    named = web.tokens.read_sign_in(token, address) if address else None
    if named is None:
        raise NotFound(
            "This sign-in link is not valid. Open the whole link from your email, or ask "
            "for a new one."
        )
    if named.expired(datetime.now(UTC)):
        raise LinkExpired("This sign-in link has expired. Ask for a new one here.")
    return named.quest_id, address


@router.get("/sign-in/{token}", responses=answers(200, 404, 410))
async def sign_in_link_page(
    token: str, request: Request, web: Web, email: str | None = None
) -> Response:
    """An emailed sign-in link: a page whose button signs this browser in."""
    try:
        quest_id, address = _sign_in_link(web, token, email)
    except LinkExpired as expired:
        if not wants_page(request):
            raise
        return sign_in_page(request, expired.message, email or "", status_code=410)
    if not wants_page(request):
        return JSONResponse({"quest_id": str(quest_id), "sign_in": "POST this address to sign in"})
    return page(
        request,
        "continue.html",
        {
            "title": "Sign in to your quest",
            "text": f"Sign in as {address} on this device to see your quest.",
            "action": f"/sign-in/{token}?{urlencode({'email': address})}",
            "button": "Sign in",
        },
    )


@router.post("/sign-in/{token}", responses=answers(200, 303, 404, 410))
async def signed_in(token: str, request: Request, web: Web, email: str | None = None) -> Response:
    quest_id, address = _sign_in_link(web, token, email)
    response: Response = (
        RedirectResponse(f"/quests/{quest_id}", status_code=303)
        if wants_page(request)
        else JSONResponse({"quest_url": f"{web.public_url}/quests/{quest_id}"})
    )
    return web.sessions.sign_in(response, address, request)


# -- the quest -------------------------------------------------------------------------------


async def _quest_view(
    web: EvidenceWeb,
    quest: Quest,
    errors: dict[uuid.UUID, str] | None = None,
    typed: dict[uuid.UUID, dict[str, str]] | None = None,
) -> dict[str, Any]:
    async with web.runtime.pool.acquire() as conn:
        history = await read_models.submissions_of(conn, quest.quest_id)
    by_task: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for row in history:
        by_task.setdefault(row["task_id"], []).append(row)
    items = []
    for task in quest.tasks:
        rows = by_task.get(task.task_id, [])
        latest = rows[0] if rows else None
        status = latest["status"] if latest else "open"
        role = (latest["review_role"] if latest else None) or quest.evidence_mode
        items.append(
            {
                "task": task,
                "status": status,
                "status_text": STATUS_TEXT[status],
                "submission_id": str(latest["submission_id"]) if latest else None,
                "feedback": latest["feedback"] if latest else "",
                "review_role": role,
                "fell_to_organisers": role == "organiser" and quest.evidence_mode == "peer",
                "history": rows,
                "can_submit": status in ("open", "rejected") and not quest.completed,
                "can_confirm": status == "pending" and quest.evidence_mode == "self",
                "limits": limits_said(task.media_types, task.max_bytes),
                "accept": accept_attribute(task.media_types, EXTENSIONS),
                "error": (errors or {}).get(task.task_id, ""),
                "typed": (typed or {}).get(task.task_id, {}),
            }
        )
    badges = web.badge_public_url.rstrip("/")
    return {
        "quest": quest,
        "tasks": items,
        "mode": quest.evidence_mode,
        "done": sum(1 for i in items if i["status"] == "approved"),
        "error": "",
        "badge_url": f"{badges}/badges/{quest.assertion_id}" if quest.assertion_id else None,
    }


@router.get("/quests/{quest_id}", responses=answers(200, 401, 403, 404, 422))
async def quest_page(quest_id: uuid.UUID, request: Request, web: Web) -> Response:
    quest = await owned_quest(web, request, quest_id)
    view = await _quest_view(web, quest)
    if not wants_page(request):
        return JSONResponse(
            {
                "quest_id": str(quest.quest_id),
                "completed": quest.completed,
                "mode": quest.evidence_mode,
                "badge_url": view["badge_url"],
                "tasks": [
                    {
                        "task_id": str(i["task"].task_id),
                        "title": i["task"].title,
                        "kind": i["task"].kind,
                        "status": i["status"],
                        "submission_id": i["submission_id"],
                        "feedback": i["feedback"],
                        "reviewed_by": i["review_role"],
                    }
                    for i in view["tasks"]
                ],
            }
        )
    return page(request, "quest.html", view)


async def _staged_evidence(
    web: EvidenceWeb, quest: Quest, task_id: uuid.UUID, file: UploadFile
) -> tuple[StagedFile | None, FileRef | None]:
    """The upload in a temporary file, its type told from its bytes; refused at once
    when it does not fit the task (before anything enters the store)."""
    task = quest.task(task_id)
    if task is None or task.kind != "file":
        return None, None
    staged = await web.files.stage(file, task.max_bytes)
    try:
        kind = sniff(staged.head)
        media_type = kind.media_type if kind else ""
        check_evidence(task, None, None, (file.filename or "", media_type, staged.size))
        assert kind is not None  # check_evidence refuses a type it cannot tell
        ref = FileRef(
            sha256=staged.sha256,
            size=staged.size,
            media_type=kind.media_type,
            filename=clean_filename(file.filename or "", kind.extension),
        )
    except BaseException:
        staged.discard()
        raise
    return staged, ref


@router.post(
    "/quests/{quest_id}/tasks/{task_id}",
    status_code=201,
    responses=answers(201, 303, 400, 401, 403, 404, 409, 413, 422),
)
async def submit(
    quest_id: uuid.UUID,
    task_id: uuid.UUID,
    request: Request,
    web: Web,
    text: str | None = Form(default=None, max_length=20_000),
    url: str | None = Form(default=None, max_length=2_000),
    file: UploadFile | None = None,
) -> Response:
    """Evidence for one task: `text`, `url` or a `file`, as the task asks."""
    quest = await owned_quest(web, request, quest_id)
    staged: StagedFile | None = None
    try:
        ref = None
        if file is not None and file.filename:
            staged, ref = await _staged_evidence(web, quest, task_id, file)
        submission_id = await service_layer.submit(
            web.runtime,
            quest_id,
            quest.learner_email,
            task_id,
            text=text,
            url=url,
            file=ref,
            keep_file=staged.keep if staged else None,
        )
    except DomainError as error:
        if not wants_page(request) or status_of(error) in (401, 403):
            raise
        # Back to the quest, the problem beside the task, what was typed still there.
        view = await _quest_view(
            web, quest, {task_id: error.message}, {task_id: {"text": text or "", "url": url or ""}}
        )
        if quest.task(task_id) is None:
            view["error"] = error.message
        return page(request, "quest.html", view, status_code=status_of(error))
    finally:
        if staged is not None:
            staged.discard()
    if not wants_page(request):
        return JSONResponse({"submission_id": str(submission_id)}, status_code=201)
    return RedirectResponse(f"/quests/{quest_id}", status_code=303)


@router.post(
    "/submissions/{submission_id}/confirm",
    responses=answers(200, 303, 401, 403, 404, 409, 422),
)
async def confirm(submission_id: uuid.UUID, request: Request, web: Web) -> Response:
    """Self-approval: the learner confirms their evidence meets the criteria."""
    emails = learners(web, request)
    async with web.runtime.pool.acquire() as conn:
        pending = await read_models.submission(conn, submission_id)
        quest = await read_models.quest(conn, pending.quest_id) if pending else None
    # The quest's own address when the learner proved it here; otherwise the one proved last,
    # which the decision refuses as someone else's.
    email = quest.learner_email if quest and quest.learner_email in emails else emails[0]
    await service_layer.review(web.runtime, submission_id, email, "self", "approve", "")
    async with web.runtime.pool.acquire() as conn:
        found = await read_models.submission(conn, submission_id)
    assert found is not None
    if not wants_page(request):
        return JSONResponse({"submission_id": str(submission_id), "status": found.status})
    return RedirectResponse(f"/quests/{found.quest_id}", status_code=303)
