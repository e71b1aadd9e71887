"""The evidence review queue: the organisation's submissions waiting for an organiser, oldest
first, and one submission's review page (each task of the quest with the learner's text,
links and files, the badge's criteria beside them; approve, or return with feedback).

Everything is read from and written to the evidence service's organiser API as the signed-in
organiser, so it answers only for their organisation. Evidence files pass through the console
under a sandboxing policy: images, PDF and plain text open in place, anything else is only
ever a download (the evidence service says which).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from services.console.backends import BackendRefused, Backends, refusal_of
from services.console.rendering import redirect, render
from services.console.signed_in import Session, SignedIn

router = APIRouter(tags=["reviews"])

# What a file answer may carry on from the evidence service to the browser.
FILE_HEADERS = ("content-type", "content-disposition")
FILE_POLICY = "default-src 'none'; sandbox"
# A PDF, opened in place on the review page, may be framed by the console's own pages,
# and only by them: Chromium shows a PDF in a frame under this policy (tests/browser), and
# refuses one whose answer says DENY. Sandboxed, it runs nothing of its own either way.
INLINE_FILE_POLICY = "default-src 'none'; frame-ancestors 'self'; sandbox"
STATUS_TEXT = {
    "pending": "Waiting for review",
    "approved": "Approved",
    "rejected": "Returned to the learner",
}
FEEDBACK_NEEDED = (
    "Write feedback for the learner to return their evidence: say what to change or add. "
    "Nothing was changed."
)


def masked_email(email: str) -> str:
    """Enough of the learner's address to tell two learners apart, not enough to mail them:
    `a•••@example.org`."""
    local, at, domain = email.partition("@")
    if not at:
        return "•••"
    return f"{local[:1]}•••@{domain}"


def when(value: Any) -> dict[str, str]:
    """An ISO time from the API, for a `<time>` element: machine- and person-readable."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return {"iso": str(value), "text": str(value)}
    return {"iso": moment.isoformat(), "text": moment.strftime("%-d %b %Y, %H:%M UTC")}


def size_text(size: int | None) -> str:
    if size is None:
        return ""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size // 1024} KB"
    return f"{size} bytes"


def safe_link(url: str | None) -> str | None:
    """Only web addresses become links (the evidence service accepts no other kind)."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def _evidence(evidence: dict[str, Any] | None) -> dict[str, Any] | None:
    """A submission's evidence as the templates show it."""
    if evidence is None:
        return None
    file = evidence.get("file")
    sid = evidence["submission_id"]
    return {
        **evidence,
        "status_text": STATUS_TEXT.get(evidence["status"], evidence["status"]),
        "submitted": when(evidence["submitted_at"]),
        "link": safe_link(evidence.get("url")),
        "file": None
        if not file
        else {
            **file,
            "href": f"/reviews/{sid}/file",
            "image": bool(file["inline"]) and str(file["media_type"]).startswith("image/"),
            "pdf": bool(file["inline"]) and file["media_type"] == "application/pdf",
            "size_text": size_text(file.get("size")),
        },
    }


async def _review(backends: Backends, session: Session, submission_id: uuid.UUID) -> dict[str, Any]:
    """Everything the review page shows, in one call to the evidence service."""
    found: dict[str, Any] = await backends.evidence.get(f"/v1/submissions/{submission_id}", session)
    return {
        "submission": {**found, **(_evidence(found) or {})},
        "learner": masked_email(str(found["learner_email"])),
        "badge": found["badge"],
        "task": found.get("task") or {"title": "A task", "description": ""},
        "reviews": [{**r, "recorded": when(r["recorded_at"])} for r in found["reviews"]],
        "earlier": [_evidence(e) for e in found["earlier"]],
        "others": [
            {**t, "latest": _evidence(t["latest"])} for t in found["tasks"] if not t["this"]
        ],
    }


def _backends(request: Request) -> Backends:
    backends: Backends = request.app.state.backends
    return backends


@router.get("/reviews")
async def queue(request: Request, session: SignedIn) -> Response:
    """The organisation's submissions waiting for an organiser's review, oldest first."""
    waiting = await _backends(request).evidence.get("/v1/review-queue", session)
    items = [
        {
            "submission_id": item["submission_id"],
            "badge_name": item["badge_name"],
            "task_title": item.get("task_title") or "A task",
            "kind": item["kind"],
            "learner": masked_email(str(item["learner_email"])),
            "submitted": when(item["submitted_at"]),
        }
        for item in waiting
    ]
    return render(request, "reviews/queue.html", items=items)


async def _page(
    request: Request,
    session: Session,
    submission_id: uuid.UUID,
    status_code: int = 200,
    error: str = "",
    feedback: str = "",
) -> Response:
    view = await _review(_backends(request), session, submission_id)
    return render(
        request,
        "reviews/review.html",
        status_code,
        **view,
        error=error,
        feedback=feedback,
    )


@router.get("/reviews/{submission_id}")
async def review_page(request: Request, submission_id: uuid.UUID, session: SignedIn) -> Response:
    return await _page(request, session, submission_id)


async def _decide(
    request: Request, session: Session, submission_id: uuid.UUID, verdict: str, feedback: str
) -> Response:
    try:
        await _backends(request).evidence.post(
            f"/v1/submissions/{submission_id}/review",
            session,
            json={"verdict": verdict, "feedback": feedback},
        )
    except BackendRefused as refused:
        if refused.status in (401, 403, 404):
            raise  # not signed in, or not this organisation's: the console's own pages
        # Decided meanwhile (409), or the feedback refused (422): the page, with the reason.
        message = refused.message[:1].upper() + refused.message[1:]
        return await _page(request, session, submission_id, refused.status, message, feedback)
    return redirect(
        "/reviews",
        flash=(
            "Approved. The learner's badge follows once every task is approved."
            if verdict == "approve"
            else "Returned to the learner with your feedback: they get it by email."
        ),
    )


@router.post("/reviews/{submission_id}/approve")
async def approve(request: Request, submission_id: uuid.UUID, session: SignedIn) -> Response:
    return await _decide(request, session, submission_id, "approve", "")


@router.post("/reviews/{submission_id}/return")
async def return_with_feedback(
    request: Request,
    submission_id: uuid.UUID,
    session: SignedIn,
    feedback: str = Form(default="", max_length=5_000),
) -> Response:
    """Returning needs feedback: without it the page comes back with the message, and
    nothing is sent to the evidence service."""
    if not feedback.strip():
        return await _page(request, session, submission_id, 422, FEEDBACK_NEEDED, feedback)
    return await _decide(request, session, submission_id, "reject", feedback.strip())


@router.get("/reviews/{submission_id}/file")
async def evidence_file(request: Request, submission_id: uuid.UUID, session: SignedIn) -> Response:
    """The submission's file, fetched with the organiser's session: opened in place when the
    evidence service says it may be (images, PDF, plain text), else a download; sandboxed."""
    answer = await _backends(request).evidence.raw(
        "GET", f"/v1/submissions/{submission_id}/file", session
    )
    if answer.status_code >= 400:
        raise refusal_of(answer)
    headers = {name: answer.headers[name] for name in FILE_HEADERS if name in answer.headers}
    headers.update(
        {
            "Content-Security-Policy": FILE_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        }
    )
    if "content-disposition" not in headers:
        headers["content-disposition"] = "attachment"
        headers["content-type"] = "application/octet-stream"
    if headers["content-type"] == "application/pdf":
        headers["Content-Security-Policy"] = INLINE_FILE_POLICY
        headers["X-Frame-Options"] = "SAMEORIGIN"
    return Response(answer.content, headers=headers)
