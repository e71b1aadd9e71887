"""Colleagues: the organisation's organisers, and (for admins) inviting one by email; the
invitation's email leads them to the console's sign-in."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.backends import BackendRefused
from services.console.rendering import redirect, render
from services.console.signed_in import Session, SignedIn, backends_of

router = APIRouter()


async def _page(
    request: Request,
    session: Session,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    colleagues = await backends_of(request).activity.get("/v1/organisers", session)
    return render(
        request,
        "colleagues.html",
        status_code,
        colleagues=colleagues,
        values=values or {},
        errors=errors or {},
        message=message,
    )


@router.get("/colleagues")
async def list_colleagues(request: Request, session: SignedIn) -> Response:
    return await _page(request, session)


@router.post("/colleagues")
async def invite(request: Request, session: SignedIn) -> Response:
    data = await request.form()
    form = {k: str(v) for k, v in data.items() if isinstance(v, str)}
    name, email = form.get("name", "").strip(), form.get("email", "").strip()
    errors = {}
    if not name:
        errors["name"] = "enter their name"
    if not email:
        errors["email"] = "enter their email address"
    if errors:
        return await _page(request, session, values=form, errors=errors, status_code=422)
    try:
        # Their first API key comes back in this answer; the console does not show it: they
        # sign in by email, and make keys of their own if they need one.
        await backends_of(request).activity.post(
            "/v1/organisers",
            session,
            json={"name": name, "email": email, "admin": form.get("admin") == "yes"},
        )
    except BackendRefused as refused:
        if refused.status not in (403, 409, 422):
            raise
        return await _page(
            request,
            session,
            values=form,
            errors=refused.fields,
            message=refused.message,
            status_code=refused.status,
        )
    return redirect(
        "/colleagues",
        flash=f"{name} is an organiser now. We emailed {email} how to sign in to the console.",
    )
