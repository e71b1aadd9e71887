"""The Issue badge page of an activity or playlist, with every way to issue on one page as in
the seed: to an email address or a pasted list, from a CSV (each row's result), the QR code
(PNG and SVG) and the URL link below it, regenerating the link, the offers with their email
status and a resend for a failed one, and the awards with revoke and a reason. A bulk issue's
progress (offers made of the rows accepted, emails sent, failed; rejected rows apart) updates
itself with htmx; without JavaScript a link refreshes it, and everything else is plain forms.
An archived playlist's page keeps its offers and awards (revoking stays possible) and offers no
way to issue: a form sent anyway gets a page that says why, and nothing is issued."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import Response

from services.console.backends import BackendRefused, Backends
from services.console.pages.badges import Source, required_badge, source_of, split_addresses
from services.console.rendering import redirect, render
from services.console.signed_in import Session, SignedIn, backends_of

router = APIRouter()

# The page lists the newest offers and awards; the API has them all.
SHOWN = 100
MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_PASTED = 2_000
REASON_CHARS = 1_000
ISSUING_CLOSED = (
    "This playlist is archived: its badge is no longer issued. The badges already earned from "
    "it stay valid, and can still be revoked from its awards."
)


async def _badge(
    request: Request, source_id: uuid.UUID, session: Session
) -> tuple[Source, dict[str, Any]]:
    """The source and its badge; a source without one answers the "no badge yet" page."""
    source = await source_of(request, source_id, session)
    return source, await required_badge(backends_of(request), session, source)


class IssuingClosed(Exception):
    """A change that issues, asked of an archived playlist's badge: every such route answers
    the page that says it is no longer issued (409, the console's handler, app.py), before
    anything is sent to the badge service."""

    def __init__(self, source: Source) -> None:
        super().__init__(f"{source.kind} {source.id} is archived: its badge is not issued")
        self.source = source


def issuing_closed_page(request: Request, error: IssuingClosed) -> Response:
    return render(
        request,
        "message.html",
        status_code=409,
        heading="No longer issued",
        message=ISSUING_CLOSED,
        home=f"{error.source.base}/badge/issue",
        home_label="Back to the offers and awards",
    )


async def _issuable(
    request: Request, source_id: uuid.UUID, session: Session
) -> tuple[Source, dict[str, Any]]:
    """The source and its badge, for a change that issues (raises IssuingClosed for an
    archived playlist)."""
    source, badge = await _badge(request, source_id, session)
    if source.issuing_closed:
        raise IssuingClosed(source)
    return source, badge


async def _open_link(backends: Backends, session: Session, badge: dict[str, Any]) -> Any:
    """The badge's link and QR code; None for a playlist's badge, which has none (409)."""
    try:
        return await backends.badge.get(f"/v1/badges/{badge['id']}/open-link", session)
    except BackendRefused as refused:
        if refused.status == 409:
            return None
        raise


async def _page(
    request: Request,
    session: Session,
    source: Source,
    badge: dict[str, Any],
    *,
    status_code: int = 200,
    result: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    revoke_errors: dict[str, str] | None = None,
) -> Response:
    backends = backends_of(request)
    if result is None:
        result = await _issue_result(request, session, source, badge)
    offers = await backends.badge.get(f"/v1/badges/{badge['id']}/offers", session)
    awards = await backends.badge.get(f"/v1/badges/{badge['id']}/assertions", session)
    return render(
        request,
        "badges/issue.html",
        status_code=status_code,
        source=source,
        badge=badge,
        link=None if source.issuing_closed else await _open_link(backends, session, badge),
        offers=list(reversed(offers))[:SHOWN],
        offer_count=len(offers),
        failed_count=sum(1 for o in offers if o["email_status"] == "failed"),
        awards=list(reversed(awards))[:SHOWN],
        award_count=len(awards),
        result=result,
        errors=errors or {},
        values=values or {},
        revoke_errors=revoke_errors or {},
        issue_key=str(uuid.uuid4()),
        regenerated=request.query_params.get("regenerated") == "1",
    )


async def _issue_result(
    request: Request, session: Session, source: Source, badge: dict[str, Any]
) -> dict[str, Any] | None:
    """The result of the bulk issue the page was sent to after a CSV upload (`?issue=`): its
    rows accepted and rejected, from the badge service, and its progress so far."""
    try:
        issue_id = uuid.UUID(request.query_params.get("issue", ""))
    except ValueError:
        return None
    counts = await backends_of(request).badge.get(
        f"/v1/badges/{badge['id']}/issues/{issue_id}", session
    )
    if "rows" not in counts and not counts.get("offers"):
        return None  # no issue of this badge
    progress = _progress_of(counts)
    return {
        "accepted": progress.get("rows", progress["offers"]),
        "created": progress.get("rows", progress["offers"]),
        "rejected": counts.get("rejected", []),
        "rejected_count": int(counts.get("rejected_count", 0)),
        "issue_id": str(issue_id),
        "progress": progress,
        "progress_url": f"{source.base}/badge/issue/progress/{issue_id}",
    }


@router.get("/activities/{source_id}/badge/issue")
@router.get("/playlists/{source_id}/badge/issue")
async def issue_page(request: Request, source_id: uuid.UUID, session: SignedIn) -> Response:
    source, badge = await _badge(request, source_id, session)
    return await _page(request, session, source, badge)


def _issue_key(form: Any) -> str:
    """The page's own key: sending the same form twice (a reload, a double click) issues
    nothing twice."""
    key = form.get("issue_key")
    return key if isinstance(key, str) and 0 < len(key) <= 200 else str(uuid.uuid4())


async def _issued(
    request: Request,
    session: Session,
    source: Source,
    badge: dict[str, Any],
    *,
    send: dict[str, Any],
    field: str,
    values: dict[str, str],
) -> Response:
    """Issue through the badge service and show each row's result and the issue's progress;
    a refusal shows its message beside the field, and nothing was issued."""
    path = f"/v1/badges/{badge['id']}/offers" + ("/csv" if "files" in send else "")
    try:
        answer = await backends_of(request).badge.post(path, session, **send)
    except BackendRefused as refused:
        if refused.status in (401, 403, 404):
            raise
        problem = next(iter(refused.fields.values()), "") or refused.message
        return await _page(
            request,
            session,
            source,
            badge,
            status_code=refused.status,
            errors={field: problem},
            values=values,
        )
    if "rows" in answer:
        # Accepted, its offers still to be made: the page of this issue shows them coming.
        return redirect(f"{source.base}/badge/issue?issue={answer['issue_id']}#result")
    result = {
        "accepted": len(answer["offers"]),
        "created": answer["created"],
        "rejected": answer["rejected"],
        "issue_id": answer["issue_id"],
        "progress": _progress_of({"offers": len(answer["offers"]), "done": False}),
        "progress_url": f"{source.base}/badge/issue/progress/{answer['issue_id']}",
    }
    status = 201 if answer["created"] else 200
    return await _page(request, session, source, badge, status_code=status, result=result)


@router.post("/activities/{source_id}/badge/issue/emails")
@router.post("/playlists/{source_id}/badge/issue/emails")
async def issue_to_emails(request: Request, source_id: uuid.UUID, session: SignedIn) -> Response:
    source, badge = await _issuable(request, source_id, session)
    form = await request.form()
    # Two forms post here: one address (`email`) or a pasted list (`emails`).
    field = "email" if "email" in form else "emails"
    given = form.get(field)
    typed = given if isinstance(given, str) else ""
    emails = split_addresses(typed)
    problem = ""
    if not emails:
        problem = "Enter an email address." if field == "email" else "Paste at least one address."
    elif len(emails) > MAX_PASTED:
        problem = f"Paste at most {MAX_PASTED} addresses; upload a CSV file for more."
    if problem:
        return await _page(
            request,
            session,
            source,
            badge,
            status_code=422,
            errors={field: problem},
            values={field: typed},
        )
    send = {"json": {"emails": emails}, "headers": {"Idempotency-Key": _issue_key(form)}}
    return await _issued(
        request, session, source, badge, send=send, field=field, values={field: typed}
    )


@router.post("/activities/{source_id}/badge/issue/csv")
@router.post("/playlists/{source_id}/badge/issue/csv")
async def issue_to_csv(request: Request, source_id: uuid.UUID, session: SignedIn) -> Response:
    source, badge = await _issuable(request, source_id, session)
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _page(
            request,
            session,
            source,
            badge,
            status_code=422,
            errors={"file": "Choose a CSV file."},
        )
    data = await upload.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        return await _page(
            request,
            session,
            source,
            badge,
            status_code=413,
            errors={"file": "The file is over 2 MiB (10,000 rows at most)."},
        )
    # The badge service keeps the file and records the issue, answers at once (202) and makes
    # the offers after: the page it leads to shows them as they are made and mailed. The
    # form's key makes a second send of it (a reload, a double click) the same issue.
    send = {
        "files": {"file": (upload.filename, data, "text/csv")},
        "headers": {"Idempotency-Key": _issue_key(form), "Prefer": "respond-async"},
    }
    return await _issued(request, session, source, badge, send=send, field="file", values={})


def _progress_of(counts: dict[str, Any]) -> dict[str, Any]:
    """A bulk issue's counts for the page. `rows` are the valid rows, `offers` those already
    made (all of them, but for an issue still being worked through), and every row not yet
    sent or failed is waiting; the `rejected` rows are counted apart (none of them is an
    offer, or ever waits)."""
    offers = int(counts.get("offers", 0))
    rows = max(int(counts.get("rows", offers)), offers)
    sent = int(counts.get("sent", 0))
    failed = int(counts.get("failed", 0))
    progress: dict[str, Any] = {
        "offers": offers,
        "sent": sent,
        "failed": failed,
        "waiting": max(rows - sent - failed, 0),
        "claimed": int(counts.get("claimed", 0)),
        "done": bool(counts.get("done")),
    }
    if "rows" in counts:
        # Accepted to be worked through after the answer: its rows, and why it stopped if it did.
        rejected = int(counts.get("rejected_count", len(counts.get("rejected", []))))
        progress |= {"rows": rows, "rejected": rejected, "error": counts.get("error")}
    return progress


@router.get("/activities/{source_id}/badge/issue/progress/{issue_id}")
@router.get("/playlists/{source_id}/badge/issue/progress/{issue_id}")
async def issue_progress(
    request: Request, source_id: uuid.UUID, issue_id: uuid.UUID, session: SignedIn
) -> Response:
    """The progress block alone for htmx (it asks again each second until every email is
    sent or failed); a page with it for a browser without JavaScript."""
    source, badge = await _badge(request, source_id, session)
    counts = await backends_of(request).badge.get(
        f"/v1/badges/{badge['id']}/issues/{issue_id}", session
    )
    context: dict[str, Any] = {
        "source": source,
        "badge": badge,
        "progress": _progress_of(counts),
        "progress_url": f"{source.base}/badge/issue/progress/{issue_id}",
    }
    if request.headers.get("hx-request") == "true":
        return render(request, "badges/_progress.html", **context)
    return render(request, "badges/progress.html", **context)


async def _qr(request: Request, source_id: uuid.UUID, session: Session, kind: str) -> Response:
    source, badge = await _badge(request, source_id, session)
    answer = await backends_of(request).badge.raw(
        "GET", f"/v1/badges/{badge['id']}/open-link/qr.{kind}", session
    )
    if answer.status_code != 200:
        message = "A playlist's badge has no QR code: it is earned by holding its activities'."
        return render(
            request,
            "message.html",
            status_code=answer.status_code,
            heading="No QR code",
            message=message if answer.status_code == 409 else "The QR code cannot be shown.",
            home=f"{source.base}/badge/issue",
            home_label="Back to Issue badge",
        )
    name = "".join(c if c.isalnum() else "-" for c in badge["name"].lower()).strip("-")[:60]
    disposition = "inline" if request.query_params.get("inline") == "1" else "attachment"
    return Response(
        answer.content,
        media_type="image/png" if kind == "png" else "image/svg+xml",
        headers={
            "Content-Disposition": f'{disposition}; filename="{name or "badge"}-qr.{kind}"',
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
            "Cache-Control": "no-store",
        },
    )


@router.get("/activities/{source_id}/badge/qr.png")
@router.get("/playlists/{source_id}/badge/qr.png")
async def qr_png(request: Request, source_id: uuid.UUID, session: SignedIn) -> Response:
    return await _qr(request, source_id, session, "png")


@router.get("/activities/{source_id}/badge/qr.svg")
@router.get("/playlists/{source_id}/badge/qr.svg")
async def qr_svg(request: Request, source_id: uuid.UUID, session: SignedIn) -> Response:
    return await _qr(request, source_id, session, "svg")


@router.get("/activities/{source_id}/badge/issue/regenerate")
@router.get("/playlists/{source_id}/badge/issue/regenerate")
async def regenerate_page(request: Request, source_id: uuid.UUID, session: SignedIn) -> Response:
    """The confirm step: regenerating kills the link and QR code already shared."""
    source, badge = await _issuable(request, source_id, session)
    return render(request, "badges/regenerate.html", source=source, badge=badge)


@router.post("/activities/{source_id}/badge/issue/regenerate")
@router.post("/playlists/{source_id}/badge/issue/regenerate")
async def regenerate(request: Request, source_id: uuid.UUID, session: SignedIn) -> Response:
    source, badge = await _issuable(request, source_id, session)
    if (await request.form()).get("confirm") != "yes":
        return render(
            request,
            "badges/regenerate.html",
            status_code=422,
            source=source,
            badge=badge,
            error="Tick the box to confirm that the old link and QR code stop working.",
        )
    try:
        await backends_of(request).badge.post(
            f"/v1/badges/{badge['id']}/open-link/regenerate", session
        )
    except BackendRefused as refused:
        if refused.status != 409:
            raise
        return redirect(f"{source.base}/badge/issue", flash=refused.message, kind="error")
    return redirect(
        f"{source.base}/badge/issue?regenerated=1#link",
        flash="A new link and QR code are ready; the old ones no longer work.",
    )


@router.post("/activities/{source_id}/badge/issue/offers/{offer_id}/resend")
@router.post("/playlists/{source_id}/badge/issue/offers/{offer_id}/resend")
async def resend(
    request: Request, source_id: uuid.UUID, offer_id: uuid.UUID, session: SignedIn
) -> Response:
    source, _ = await _issuable(request, source_id, session)  # 404 page without a badge
    try:
        await backends_of(request).badge.post(f"/v1/offers/{offer_id}/resend", session)
    except BackendRefused as refused:
        if refused.status in (401, 403, 404):
            raise
        return redirect(
            f"{source.base}/badge/issue#offers",
            flash=f"Not resent: {refused.message}",
            kind="error",
        )
    return redirect(f"{source.base}/badge/issue#offers", flash="The email is being sent again.")


@router.post("/activities/{source_id}/badge/issue/awards/{assertion_id}/revoke")
@router.post("/playlists/{source_id}/badge/issue/awards/{assertion_id}/revoke")
async def revoke(
    request: Request, source_id: uuid.UUID, assertion_id: uuid.UUID, session: SignedIn
) -> Response:
    source, badge = await _badge(request, source_id, session)
    reason = (await request.form()).get("reason")
    reason = reason.strip() if isinstance(reason, str) else ""
    problem = ""
    if not reason:
        problem = "Say why the badge is revoked: the holder and verifiers see the reason."
    elif len(reason) > REASON_CHARS:
        problem = f"Keep the reason to {REASON_CHARS} characters."
    if problem:
        return await _page(
            request,
            session,
            source,
            badge,
            status_code=422,
            revoke_errors={str(assertion_id): problem},
        )
    try:
        await backends_of(request).badge.post(
            f"/v1/assertions/{assertion_id}/revoke", session, json={"reason": reason}
        )
    except BackendRefused as refused:
        if refused.status in (401, 403, 404):
            raise
        return await _page(
            request,
            session,
            source,
            badge,
            status_code=refused.status,
            revoke_errors={str(assertion_id): refused.message},
        )
    return redirect(f"{source.base}/badge/issue#awards", flash="The badge is revoked.")
