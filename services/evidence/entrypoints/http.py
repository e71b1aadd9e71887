"""The evidence service's pages and API: learners' quests, reviewers' links, the organisers'
review queue, evidence pages and files. Routes translate HTTP to commands."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from fastapi import FastAPI, Form, Request, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict, Field

from contracts.evidence import FileRef
from services.evidence import service_layer
from services.evidence.adapters import read_models
from services.evidence.domain.model import check_evidence
from services.kernel.blob_store import BlobStore
from services.kernel.claim_tokens import ClaimTokens, PersonalToken
from services.kernel.errors import BadRequest, DomainError, Forbidden, NotFound, Unauthenticated
from services.kernel.http import new_app
from services.kernel.organisers import CurrentOrganiser, authenticate

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
SESSION_COOKIE = "quest_session"
SESSION_DAYS = 30
MAX_UPLOAD = 20 * 1024 * 1024


class OrganiserReview(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    verdict: Literal["approve", "reject"]
    feedback: str = Field(default="", max_length=5_000)


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def build_app(
    runtime: Any, public_url: str, blobs: BlobStore, tokens: ClaimTokens, session_secret: str
) -> FastAPI:
    app = new_app(
        "Evidence service",
        "Evidence quests: learners show their work for each task; it is approved by the learner, "
        "by peers or by the organisers, and the badge follows.",
        max_body_bytes=MAX_UPLOAD + 64 * 1024,
        public_urls=[public_url],
    )
    app.state.runtime = runtime
    sessions = URLSafeTimedSerializer(session_secret, salt="quest-session")

    @app.exception_handler(DomainError)
    async def refused(request: Request, error: DomainError) -> Response:
        if _wants_json(request) or request.url.path.startswith("/v1/"):
            return JSONResponse({"error": error.message}, status_code=error.status_code)
        return TEMPLATES.TemplateResponse(
            request,
            "message.html",
            {"heading": "Not possible", "message": error.message},
            status_code=error.status_code,
        )

    def signed_in_as(response: Response, email: str) -> Response:
        response.set_cookie(
            SESSION_COOKIE,
            sessions.dumps({"email": email}),
            max_age=SESSION_DAYS * 86400,
            httponly=True,
            samesite="lax",
        )
        return response

    def learner(request: Request) -> str:
        try:
            data = sessions.loads(
                request.cookies.get(SESSION_COOKIE, ""), max_age=SESSION_DAYS * 86400
            )
        except BadSignature as error:
            raise Unauthenticated(
                "open your quest from the link in your email to sign in"
            ) from error
        return str(data["email"])

    async def owned_quest(request: Request, quest_id: uuid.UUID) -> Any:
        email = learner(request)
        async with runtime.pool.acquire() as conn:
            quest = await read_models.quest(conn, quest_id)
        if quest is None:
            raise NotFound("quest not found")
        if quest.learner_email != email:
            raise Forbidden("this quest belongs to someone else")
        return quest

    @app.get("/quests/start/{token}", tags=["learners"])
    async def start(token: str, request: Request) -> Response:
        """The link from the badge's claim email: starts (or resumes) the quest and signs in."""
        named = tokens.read(token)
        if not isinstance(named, PersonalToken):
            raise NotFound("This link is not valid. Open the whole link from your email.")
        quest = await service_layer.start_quest(runtime, named.offer_id)
        target = f"/quests/{quest.quest_id}"
        response: Response = (
            JSONResponse({"quest_id": str(quest.quest_id), "quest_url": public_url + target})
            if _wants_json(request)
            else RedirectResponse(target, status_code=303)
        )
        return signed_in_as(response, quest.learner_email)

    @app.post("/sign-in", tags=["learners"])
    async def sign_in(request: Request, email: str = Form(max_length=320)) -> Response:
        """A fresh link to your quests, by email, at any time."""
        try:
            address = validate_email(email.strip(), check_deliverability=False).normalized.lower()
        except EmailNotValidError as error:
            raise BadRequest(f"that address is not valid: {error}") from error
        await service_layer.request_sign_in(runtime, address)
        message = f"If {address} has a quest under way, a link to it is on its way."
        if _wants_json(request):
            return JSONResponse({"message": message}, status_code=202)
        return TEMPLATES.TemplateResponse(
            request,
            "message.html",
            {"heading": "Check your inbox", "message": message},
            status_code=202,
        )

    @app.get("/sign-in/{token}", tags=["learners"])
    async def signed_in(token: str, email: str, request: Request) -> Response:
        address = email.strip().lower()
        quest_id = tokens.read_sign_in(token, address)
        if quest_id is None:
            raise NotFound("This sign-in link is not valid.")
        response: Response = (
            JSONResponse({"quest_url": f"{public_url}/quests/{quest_id}"})
            if _wants_json(request)
            else RedirectResponse(f"/quests/{quest_id}", status_code=303)
        )
        return signed_in_as(response, address)

    @app.get("/quests/{quest_id}", tags=["learners"])
    async def quest_page(quest_id: uuid.UUID, request: Request) -> Response:
        quest = await owned_quest(request, quest_id)
        async with runtime.pool.acquire() as conn:
            latest = await read_models.latest_submissions(conn, quest_id)
        items = []
        for task in quest.tasks:
            row = latest.get(task.task_id)
            status = row["status"] if row else "open"
            items.append(
                {
                    "task": task,
                    "status": status,
                    "submission_id": str(row["submission_id"]) if row else None,
                    "feedback": row["feedback"] if row else "",
                    "status_text": {
                        "open": "Not submitted yet",
                        "pending": "Submitted; waiting for review",
                        "approved": "Approved",
                        "rejected": "Returned: please submit again",
                    }[status],
                    "can_submit": status in ("open", "rejected") and not quest.completed,
                    "can_confirm": status == "pending" and quest.evidence_mode == "self",
                }
            )
        if _wants_json(request):
            return JSONResponse(
                {
                    "quest_id": str(quest.quest_id),
                    "completed": quest.completed,
                    "mode": quest.evidence_mode,
                    "tasks": [
                        {
                            "task_id": str(i["task"].task_id),
                            "title": i["task"].title,
                            "kind": i["task"].kind,
                            "status": i["status"],
                            "submission_id": i["submission_id"],
                            "feedback": i["feedback"],
                        }
                        for i in items
                    ],
                }
            )
        return TEMPLATES.TemplateResponse(
            request,
            "quest.html",
            {
                "quest": quest,
                "tasks": items,
                "mode": quest.evidence_mode,
                "done": sum(1 for i in items if i["status"] == "approved"),
            },
        )

    @app.post("/quests/{quest_id}/tasks/{task_id}", tags=["learners"])
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
        ref = None
        if file is not None and file.filename:
            data = await file.read(MAX_UPLOAD + 1)
            media_type = (file.content_type or "").split(";")[0].strip().lower()
            ref = FileRef(
                sha256="0" * 64,
                size=max(len(data), 1),
                media_type=media_type[:100],
                filename=Path(file.filename).name[:200] or "evidence",
            )
            # Checked against the task before anything is stored.
            task = next((t for t in quest.tasks if t.task_id == task_id), None)
            if task is not None and task.kind == "file":
                check_evidence(task, None, None, (ref.filename, media_type, len(data)))
                ref = ref.model_copy(update={"sha256": blobs.put(data), "size": len(data)})
            else:
                ref = None
        submission_id = await service_layer.submit(
            runtime, quest_id, quest.learner_email, task_id, text=text, url=url, file=ref
        )
        if _wants_json(request):
            return JSONResponse({"submission_id": str(submission_id)}, status_code=201)
        return RedirectResponse(f"/quests/{quest_id}", status_code=303)

    @app.post("/submissions/{submission_id}/confirm", tags=["learners"])
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

    async def reviewed_submission(token: str, reviewer: str) -> uuid.UUID:
        submission_id = tokens.read_review(token, reviewer.strip().lower())
        if submission_id is None:
            raise NotFound("This review link is not valid.")
        return submission_id

    @app.get("/reviews/{token}", tags=["reviewers"])
    async def review_page(token: str, reviewer: str, request: Request) -> Response:
        submission_id = await reviewed_submission(token, reviewer)
        async with runtime.pool.acquire() as conn:
            submission = await read_models.submission(conn, submission_id)
            quest = await read_models.quest(conn, submission.quest_id) if submission else None
        if submission is None or quest is None:
            raise NotFound("submission not found")
        task = next(t for t in quest.tasks if t.task_id == submission.task_id)
        file_url = f"/files/{submission_id}?reviewer={reviewer}&token={token}"
        if _wants_json(request):
            return JSONResponse(
                {
                    "submission_id": str(submission_id),
                    "status": submission.status,
                    "text": submission.text,
                    "url": submission.url,
                    "file": submission.file_name,
                }
            )
        return TEMPLATES.TemplateResponse(
            request,
            "review.html",
            {
                "submission": submission,
                "badge_name": quest.badge_name,
                "task_title": task.title,
                "file_url": file_url,
            },
        )

    @app.post("/reviews/{token}", tags=["reviewers"])
    async def review(
        token: str,
        reviewer: str,
        request: Request,
        verdict: Literal["approve", "reject"] = Form(),
        feedback: str = Form(default="", max_length=5_000),
    ) -> Response:
        submission_id = await reviewed_submission(token, reviewer)
        await service_layer.review(
            runtime, submission_id, reviewer.strip().lower(), "peer", verdict, feedback
        )
        if _wants_json(request):
            return JSONResponse({"submission_id": str(submission_id), "recorded": verdict})
        return TEMPLATES.TemplateResponse(
            request, "message.html", {"heading": "Thank you", "message": "Your review is recorded."}
        )

    @app.get("/v1/review-queue", tags=["organisers"])
    async def review_queue(organiser: CurrentOrganiser) -> list[dict[str, Any]]:
        """Submissions waiting for your organisation's review."""
        async with runtime.pool.acquire() as conn:
            return await read_models.review_queue(conn, organiser.organisation_id)

    @app.post("/v1/submissions/{submission_id}/review", tags=["organisers"])
    async def organiser_review(
        submission_id: uuid.UUID, body: OrganiserReview, organiser: CurrentOrganiser
    ) -> dict[str, Any]:
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

    @app.get("/evidence/{quest_id}", tags=["public"])
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
        return TEMPLATES.TemplateResponse(
            request, "evidence.html", {"quest": quest, "items": items}
        )

    @app.get("/files/{submission_id}", tags=["public"])
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
        elif request.cookies.get(SESSION_COOKIE):
            allowed = learner(request) == quest.learner_email
        if not allowed:
            raise Forbidden(
                "this file is shown only to its learner, its reviewers and the organisers"
            )
        data = blobs.get(row["file_sha256"])
        if data is None:
            raise NotFound("the file is missing from the store")
        return Response(
            data,
            media_type=row["file_media_type"],
            headers={
                "Content-Disposition": f'attachment; filename="{row["file_name"]}"',
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return app
