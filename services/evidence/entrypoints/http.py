"""The evidence service's pages and API: learners' quests, reviewers' links, the organisers'
review queue, evidence pages and files. Routes translate HTTP to commands.

A link that signs a browser in (a claim link's quest start, an emailed sign-in link) opens a
page with a button: only the POST behind it sets the session, so no other site can sign a
browser into someone else's quest. Forms post to this service's own addresses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from email_validator import EmailNotValidError, validate_email
from fastapi import FastAPI, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from contracts.evidence import FileRef
from contracts.tokens import ClaimTokens, PersonalToken
from services.evidence import service_layer
from services.evidence.adapters import read_models
from services.evidence.adapters.files import EvidenceFiles, StagedFile
from services.evidence.domain.evidence_files import (
    EXTENSIONS,
    clean_filename,
    content_disposition,
    sniff,
)
from services.evidence.domain.limits import accept_attribute, limits_said
from services.evidence.domain.model import Quest, check_evidence
from services.evidence.entrypoints.sessions import Sessions
from services.evidence.service_layer import LinkExpired
from services.kernel import rate_limits
from services.kernel.errors import (
    BadRequest,
    DomainError,
    Forbidden,
    NotFound,
    Unauthenticated,
)
from services.kernel.http import new_app
from services.kernel.web import negotiation
from services.kernel.web.answers import error_answer
from services.kernel.web.refusals import status_of
from services.organiser_access import CurrentOrganiser, authenticate

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
MAX_UPLOAD = 20 * 1024 * 1024

STATUS_TEXT = {
    "open": "Not submitted yet",
    "pending": "Submitted: waiting for review",
    "approved": "Approved",
    "rejected": "Returned: please submit again",
}


class OrganiserReview(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    verdict: Literal["approve", "reject"]
    feedback: str = Field(default="", max_length=5_000)


MEANINGS = {
    200: "The page (HTML), or JSON to `Accept: application/json`",
    201: "Recorded",
    202: "Accepted: an email follows if there is anything to send",
    303: "Done: on to the page it leads to",
    400: "What was sent does not fit (the message says why)",
    401: "Not signed in: the page offers a sign-in link",
    403: "Not yours",
    404: "No such link, quest, submission or file",
    409: "Not possible in the current state",
    410: "The link has expired",
    413: "The upload is too large",
    422: "A field is missing or invalid",
    503: "Kafka cannot take the request just now",
}


def _answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """What a route can answer, for the OpenAPI document: pages to browsers, JSON to the rest."""
    content = {"text/html": {"schema": {"type": "string"}}, "application/json": {"schema": {}}}
    return {
        status: {"description": MEANINGS[status], **({} if status == 303 else {"content": content})}
        for status in statuses
    }


def _wants_json(request: Request) -> bool:
    return negotiation.wants_json(request.headers)


def _page(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)


def _message(
    request: Request,
    heading: str,
    message: str,
    *,
    tone: Literal["success", "error"],
    status_code: int = 200,
    back: tuple[str, str] | None = None,
) -> Response:
    context = {"heading": heading, "message": message, "tone": tone, "back": back}
    return _page(request, "message.html", context, status_code)


HEADINGS = {
    400: "Please check what you sent",
    403: "Not yours to see",
    404: "Not found",
    409: "Not possible now",
    422: "Please check what you sent",
}


def _back_link(path: str, status_code: int) -> tuple[str, str]:
    """Where an error page leads back to: the quest it came from (when there is one to go
    back to), else the sign-in page."""
    parts = path.strip("/").split("/")
    quest_page = len(parts) >= 2 and parts[0] == "quests" and parts[1] != "start"
    if quest_page and status_code not in (403, 404):
        return f"/quests/{parts[1]}", "Back to your quest"
    return "/sign-in", "Go to the sign-in page"


def _normalised(email: str) -> str:
    return validate_email(email.strip(), check_deliverability=False).normalized.lower()


def build_app(
    runtime: Any,
    public_url: str,
    files: EvidenceFiles,
    tokens: ClaimTokens,
    session_secrets: tuple[str, ...],
    *,
    badge_public_url: str = "http://127.0.0.1:8002",
    secure_cookies: bool = False,
) -> FastAPI:
    app = new_app(
        "Evidence service",
        "Evidence quests: learners show their work for each task; it is approved by the learner, "
        "by peers or by the organisers, and the badge follows.",
        max_body_bytes=MAX_UPLOAD + 64 * 1024,
        public_urls=[public_url],
    )
    app.state.runtime = runtime
    sessions = Sessions(session_secrets, secure=secure_cookies)
    badges = badge_public_url.rstrip("/")

    @app.exception_handler(DomainError)
    async def refused(request: Request, error: DomainError) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": error.message}, status_code=status_of(error))
        if request.url.path.startswith("/v1/"):
            # The organisers' API: JSON, or the kernel's page to a browser (not the learners').
            return error_answer(
                request.headers, status_of(error), error.message, service="evidence"
            )
        if isinstance(error, Unauthenticated | LinkExpired):
            return _sign_in_page(request, error.message, status_code=status_of(error))
        return _message(
            request,
            HEADINGS.get(status_of(error), "Not possible"),
            error.message[:1].upper() + error.message[1:],
            tone="error",
            status_code=status_of(error),
            back=_back_link(request.url.path, status_of(error)),
        )

    def _sign_in_page(
        request: Request, notice: str = "", email: str = "", status_code: int = 200
    ) -> Response:
        return _page(
            request, "sign_in.html", {"notice": notice, "email": email}, status_code=status_code
        )

    signed_in_as = sessions.sign_in

    def learner(request: Request) -> str:
        email = sessions.learner(request)
        if email is None:
            raise Unauthenticated(
                "Sign in to see your quest: we email you a link that signs you in."
            )
        return email

    async def owned_quest(request: Request, quest_id: uuid.UUID) -> Quest:
        email = learner(request)
        async with runtime.pool.acquire() as conn:
            quest = await read_models.quest(conn, quest_id)
        if quest is None:
            raise NotFound("There is no such quest. Sign in to see yours.")
        if quest.learner_email != email:
            raise Forbidden(
                "This quest belongs to someone else. Open your own from your email, or sign in "
                "with your address."
            )
        return quest

    # -- signing in ----------------------------------------------------------------------------

    async def offer_behind(token: str) -> tuple[uuid.UUID, dict[str, Any], Quest | None]:
        named = tokens.read(token)
        if not isinstance(named, PersonalToken):
            raise NotFound("This link is not valid. Open the whole link from your email.")
        async with runtime.pool.acquire() as conn:
            offer = await read_models.offer(conn, named.offer_id)
            badge = await read_models.badge(conn, offer["badge_class_id"]) if offer else None
            quest = await read_models.quest_for_offer(conn, named.offer_id)
        if offer is None or badge is None:
            raise NotFound("This link does not lead to a badge.")
        expires = offer["expires_at"]
        if expires is not None and expires <= datetime.now(UTC):
            raise LinkExpired(
                "This link has expired. If your quest is under way, ask for a fresh sign-in "
                "link here."
            )
        return named.offer_id, badge, quest

    @app.get("/quests/start/{token}", tags=["learners"], responses=_answers(200, 404, 410))
    async def start_page(token: str, request: Request) -> Response:
        """The link from the badge's claim page: a page whose button starts (or resumes) the
        quest and signs this browser in."""
        _, badge, quest = await offer_behind(token)
        if _wants_json(request):
            return JSONResponse(
                {
                    "badge_name": badge["name"],
                    "started": quest is not None,
                    "start": "POST this address to start or resume the quest and sign in",
                }
            )
        return _page(
            request,
            "continue.html",
            {
                "title": f"Your quest for “{badge['name']}”",
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

    @app.post(
        "/quests/start/{token}", tags=["learners"], responses=_answers(200, 303, 404, 409, 410)
    )
    async def start(token: str, request: Request) -> Response:
        """Starts (or resumes) the quest and signs in."""
        offer_id, _, _ = await offer_behind(token)
        quest = await service_layer.start_quest(runtime, offer_id)
        target = f"/quests/{quest.quest_id}"
        response: Response = (
            JSONResponse({"quest_id": str(quest.quest_id), "quest_url": public_url + target})
            if _wants_json(request)
            else RedirectResponse(target, status_code=303)
        )
        return signed_in_as(response, quest.learner_email)

    @app.get("/sign-in", tags=["learners"], responses=_answers(200))
    async def sign_in_form(request: Request) -> Response:
        """Ask for a link that signs you in to your quests."""
        if _wants_json(request):
            return JSONResponse({"sign_in": "POST an email field to this address"})
        return _sign_in_page(request)

    @app.post(
        "/sign-in",
        tags=["learners"],
        status_code=202,
        responses={**_answers(202, 400, 422, 503), **rate_limits.RESPONSES},
    )
    async def sign_in(request: Request, email: str = Form(default="", max_length=320)) -> Response:
        """A fresh link to your quests, by email, at any time. The answer is the same, and
        as quick, whether the address has quests or not."""
        try:
            address = _normalised(email)
        except EmailNotValidError as error:
            problem = f"That email address is not valid: {error}"
            if _wants_json(request):
                raise BadRequest(problem) from error
            return _sign_in_page(request, problem, email, status_code=400)
        if (limited := await rate_limits.refusal(request, address=address)) is not None:
            return limited
        await service_layer.request_sign_in(runtime, address)
        message = f"If {address} has a quest under way, a link to it is on its way."
        if _wants_json(request):
            return JSONResponse({"message": message}, status_code=202)
        return _message(request, "Check your inbox", message, tone="success", status_code=202)

    def sign_in_link(token: str, email: str | None) -> tuple[uuid.UUID, str]:
        address = (email or "").strip().lower()
        named = tokens.read_sign_in(token, address) if address else None
        if named is None:
            raise NotFound(
                "This sign-in link is not valid. Open the whole link from your email, or ask "
                "for a new one."
            )
        if named.expired(datetime.now(UTC)):
            raise LinkExpired("This sign-in link has expired. Ask for a new one here.")
        return named.quest_id, address

    @app.get("/sign-in/{token}", tags=["learners"], responses=_answers(200, 404, 410))
    async def sign_in_link_page(token: str, request: Request, email: str | None = None) -> Response:
        """An emailed sign-in link: a page whose button signs this browser in."""
        try:
            quest_id, address = sign_in_link(token, email)
        except LinkExpired as expired:
            if _wants_json(request):
                raise
            return _sign_in_page(request, expired.message, email or "", status_code=410)
        if _wants_json(request):
            return JSONResponse(
                {"quest_id": str(quest_id), "sign_in": "POST this address to sign in"}
            )
        return _page(
            request,
            "continue.html",
            {
                "title": "Sign in to your quest",
                "text": f"Sign in as {address} on this device to see your quest.",
                "action": f"/sign-in/{token}?{urlencode({'email': address})}",
                "button": "Sign in",
            },
        )

    @app.post("/sign-in/{token}", tags=["learners"], responses=_answers(200, 303, 404, 410))
    async def signed_in(token: str, request: Request, email: str | None = None) -> Response:
        quest_id, address = sign_in_link(token, email)
        response: Response = (
            JSONResponse({"quest_url": f"{public_url}/quests/{quest_id}"})
            if _wants_json(request)
            else RedirectResponse(f"/quests/{quest_id}", status_code=303)
        )
        return signed_in_as(response, address)

    # -- the quest -----------------------------------------------------------------------------

    async def quest_view(
        quest: Quest,
        errors: dict[uuid.UUID, str] | None = None,
        typed: dict[uuid.UUID, dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        async with runtime.pool.acquire() as conn:
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
        return {
            "quest": quest,
            "tasks": items,
            "mode": quest.evidence_mode,
            "done": sum(1 for i in items if i["status"] == "approved"),
            "error": "",
            "badge_url": f"{badges}/badges/{quest.assertion_id}" if quest.assertion_id else None,
        }

    @app.get("/quests/{quest_id}", tags=["learners"], responses=_answers(200, 401, 403, 404, 422))
    async def quest_page(quest_id: uuid.UUID, request: Request) -> Response:
        quest = await owned_quest(request, quest_id)
        view = await quest_view(quest)
        if _wants_json(request):
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
        return _page(request, "quest.html", view)

    async def staged_evidence(
        quest: Quest, task_id: uuid.UUID, file: UploadFile
    ) -> tuple[StagedFile | None, FileRef | None]:
        """The upload in a temporary file, its type told from its bytes; refused at once
        when it does not fit the task (before anything enters the store)."""
        task = next((t for t in quest.tasks if t.task_id == task_id), None)
        if task is None or task.kind != "file":
            return None, None
        staged = await files.stage(file, task.max_bytes)
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

    @app.post(
        "/quests/{quest_id}/tasks/{task_id}",
        tags=["learners"],
        status_code=201,
        responses=_answers(201, 303, 400, 401, 403, 404, 409, 413, 422),
    )
    async def submit(
        quest_id: uuid.UUID,
        task_id: uuid.UUID,
        request: Request,
        text: str | None = Form(default=None, max_length=20_000),
        url: str | None = Form(default=None, max_length=2_000),
        file: UploadFile | None = None,
    ) -> Response:
        """Evidence for one task: `text`, `url` or a `file`, as the task asks."""
        quest = await owned_quest(request, quest_id)
        staged: StagedFile | None = None
        try:
            ref = None
            if file is not None and file.filename:
                staged, ref = await staged_evidence(quest, task_id, file)
            submission_id = await service_layer.submit(
                runtime,
                quest_id,
                quest.learner_email,
                task_id,
                text=text,
                url=url,
                file=ref,
                keep_file=staged.keep if staged else None,
            )
        except DomainError as error:
            if _wants_json(request) or status_of(error) in (401, 403):
                raise
            # Back to the quest, the problem beside the task, what was typed still there.
            view = await quest_view(
                quest, {task_id: error.message}, {task_id: {"text": text or "", "url": url or ""}}
            )
            if all(t.task_id != task_id for t in quest.tasks):
                view["error"] = error.message
            return _page(request, "quest.html", view, status_code=status_of(error))
        finally:
            if staged is not None:
                staged.discard()
        if _wants_json(request):
            return JSONResponse({"submission_id": str(submission_id)}, status_code=201)
        return RedirectResponse(f"/quests/{quest_id}", status_code=303)

    @app.post(
        "/submissions/{submission_id}/confirm",
        tags=["learners"],
        responses=_answers(200, 303, 401, 403, 404, 409, 422),
    )
    async def confirm(submission_id: uuid.UUID, request: Request) -> Response:
        """Self-approval: the learner confirms their evidence meets the criteria."""
        email = learner(request)
        await service_layer.review(runtime, submission_id, email, "self", "approve", "")
        async with runtime.pool.acquire() as conn:
            found = await read_models.submission(conn, submission_id)
        assert found is not None
        if _wants_json(request):
            return JSONResponse({"submission_id": str(submission_id), "status": found.status})
        return RedirectResponse(f"/quests/{found.quest_id}", status_code=303)

    # -- reviewers -----------------------------------------------------------------------------

    def reviewed_submission(token: str, reviewer: str | None) -> tuple[uuid.UUID, str]:
        address = (reviewer or "").strip().lower()
        submission_id = tokens.read_review(token, address) if address else None
        if submission_id is None:
            raise NotFound(
                "This review link is not valid. Open the whole link from your email "
                "(it ends with your address)."
            )
        return submission_id, address

    async def review_view(token: str, submission_id: uuid.UUID, reviewer: str) -> dict[str, Any]:
        async with runtime.pool.acquire() as conn:
            submission = await read_models.submission(conn, submission_id)
            quest = await read_models.quest(conn, submission.quest_id) if submission else None
            badge = await read_models.badge(conn, quest.badge_class_id) if quest else None
            vote = await read_models.review_by(conn, submission_id, reviewer)
        if submission is None or quest is None:
            raise NotFound("submission not found")
        task = next(t for t in quest.tasks if t.task_id == submission.task_id)
        return {
            "submission": submission,
            "badge_name": quest.badge_name,
            "criteria": badge["criteria"] if badge else "",
            "task": task,
            "vote": vote,
            "file_url": f"/files/{submission_id}?"
            + urlencode({"reviewer": reviewer, "token": token}),
            "action": f"/reviews/{token}?{urlencode({'reviewer': reviewer})}",
            "error": "",
            "feedback": "",
        }

    @app.get("/reviews/{token}", tags=["reviewers"], responses=_answers(200, 404))
    async def review_page(token: str, request: Request, reviewer: str | None = None) -> Response:
        """A reviewer's emailed link: the evidence, the task and the criteria, and the vote
        (or the vote already given)."""
        submission_id, address = reviewed_submission(token, reviewer)
        view = await review_view(token, submission_id, address)
        if _wants_json(request):
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
        return _page(request, "review.html", view)

    @app.post(
        "/reviews/{token}", tags=["reviewers"], responses=_answers(200, 400, 403, 404, 409, 422)
    )
    async def review(
        token: str,
        request: Request,
        reviewer: str | None = None,
        verdict: Literal["approve", "reject"] | None = Form(default=None),
        feedback: str = Form(default="", max_length=5_000),
    ) -> Response:
        """A vote through the emailed link: a peer's, or an organiser's for organiser review."""
        submission_id, address = reviewed_submission(token, reviewer)
        try:
            if verdict is None:
                raise BadRequest("Choose Approve or Ask for changes.")
            await service_layer.review(runtime, submission_id, address, None, verdict, feedback)
        except DomainError as error:
            if _wants_json(request):
                raise
            view = await review_view(token, submission_id, address)
            view.update(error=error.message, feedback=feedback)
            return _page(request, "review.html", view, status_code=status_of(error))
        if _wants_json(request):
            return JSONResponse({"submission_id": str(submission_id), "recorded": verdict})
        return _message(
            request,
            "Thank you",
            "Your review is recorded."
            + (" The learner gets your feedback by email." if verdict == "reject" else ""),
            tone="success",
            back=(f"/reviews/{token}?{urlencode({'reviewer': address})}", "See your review"),
        )

    @app.get("/v1/review-queue", tags=["organisers"], responses=_answers(401))
    async def review_queue(organiser: CurrentOrganiser) -> list[dict[str, Any]]:
        """Submissions waiting for your organisation's review (organiser-reviewed badges, and
        peer-reviewed ones that had too few reviewers when submitted)."""
        async with runtime.pool.acquire() as conn:
            return await read_models.review_queue(conn, organiser.organisation_id)

    @app.post(
        "/v1/submissions/{submission_id}/review",
        tags=["organisers"],
        responses=_answers(401, 403, 404, 409, 422),
    )
    async def organiser_review(
        submission_id: uuid.UUID, body: OrganiserReview, organiser: CurrentOrganiser
    ) -> dict[str, Any]:
        """`feedback` is required to ask for changes (`reject`): 422 without it."""
        async with runtime.pool.acquire() as conn:
            emails = {
                r["email"]
                for r in await conn.fetch(
                    "SELECT email FROM organisers WHERE organiser_id = $1", organiser.organiser_id
                )
            }
        reviewer = next(iter(emails), str(organiser.organiser_id))
        await service_layer.review(
            runtime,
            submission_id,
            reviewer,
            "organiser",
            body.verdict,
            body.feedback,
            organisation_id=organiser.organisation_id,
        )
        return {"submission_id": str(submission_id), "recorded": body.verdict}

    # -- public evidence -----------------------------------------------------------------------

    @app.get("/evidence/{quest_id}", tags=["public"], responses=_answers(200, 404, 422))
    async def evidence_page(quest_id: uuid.UUID, request: Request) -> Response:
        """What the Assertion's evidence points at: the approved evidence of a completed quest."""
        async with runtime.pool.acquire() as conn:
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
        return _page(request, "evidence.html", {"quest": quest, "items": items})

    @app.get("/files/{submission_id}", tags=["public"], responses=_answers(401, 403, 404, 422))
    async def evidence_file(
        submission_id: uuid.UUID,
        request: Request,
        reviewer: str | None = None,
        token: str | None = None,
    ) -> Response:
        """Served only to its learner, the reviewers of that submission and the organisers."""
        async with runtime.pool.acquire() as conn:
            row = await read_models.submission_row(conn, submission_id)
            quest = await read_models.quest(conn, row["quest_id"]) if row else None
        if row is None or quest is None or not row["file_sha256"]:
            raise NotFound("file not found")
        allowed = False
        if reviewer and token:
            allowed = tokens.read_review(token, reviewer.strip().lower()) == submission_id
        elif request.headers.get("authorization"):
            organiser = await authenticate(runtime.pool, request)
            allowed = organiser.organisation_id == quest.issuer_id
        elif sessions.present(request):
            allowed = learner(request) == quest.learner_email
        if not allowed:
            raise Forbidden(
                "this file is shown only to its learner, its reviewers and the organisers"
            )
        data = files.get(row["file_sha256"])
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

    return app
