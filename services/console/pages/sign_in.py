"""Signing in without a password: the organiser asks for a link by email, opens it, presses
"Sign in" (a page that does nothing on GET, so mail scanners opening the link use nothing up),
and the console exchanges the link for a session key at the activity service.

The session key lives in an HttpOnly, SameSite=Lax cookie (Secure behind https). Before the
first page, the console waits briefly until the badge and evidence services know the new key:
they learn of it from activity.events, a moment after it was issued.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from services.console.backends import BackendRefused, Backends, BackendUnavailable
from services.console.rendering import redirect, render
from services.console.settings import ConsoleSettings
from services.console.signed_in import COOKIE, SignedIn, backends_of, safe_next, session_of

router = APIRouter()
NEXT_COOKIE = "console_next"


def _settings(request: Request) -> ConsoleSettings:
    settings: ConsoleSettings = request.app.state.settings
    return settings


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


@router.get("/sign-in")
async def sign_in_page(request: Request, next: str = "/", email: str = "") -> Response:
    """`email` fills the field in (a colleague's invitation links here with theirs)."""
    if await session_of(request) is not None:
        return redirect(safe_next(next))
    return render(request, "sign_in.html", next=safe_next(next), email=email[:320], error=None)


@router.post("/sign-in")
async def ask_for_link(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """The same answer for any address: the activity service mails a link only to
    organisers."""
    target = safe_next(next)
    if not email.strip():
        return render(
            request,
            "sign_in.html",
            422,
            next=target,
            email=email,
            error="Enter your email address.",
        )
    try:
        await backends_of(request).activity.post(
            "/v1/sign-in",
            None,
            json={"email": email.strip()},
            headers={"x-forwarded-for": _client(request)},
        )
    except BackendRefused as refused:
        if refused.status == 429:
            return render(
                request,
                "message.html",
                429,
                heading="Please wait a moment",
                message=refused.message,
                home="/sign-in",
                home_label="Back to signing in",
            )
        message = refused.fields.get("email") or refused.message
        return render(
            request,
            "sign_in.html",
            422 if refused.status == 422 else refused.status,
            next=target,
            email=email,
            error=f"That email address is not valid: {message}",
        )
    response = render(request, "sign_in_sent.html", 202, email=email.strip())
    # The link may be opened in this browser: it then goes on to the page asked for.
    response.set_cookie(
        NEXT_COOKIE,
        target,
        max_age=15 * 60,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_settings(request).secure_cookies,
    )
    return response


@router.get("/sign-in/{token}")
async def link_page(request: Request, token: str) -> Response:
    """Opening the link changes nothing: only the button's POST signs in."""
    return render(request, "sign_in_link.html", token=token)


async def _wait_until_accepted(backends: Backends, key: str, seconds: float) -> bool:
    """Until the badge and evidence services accept the new key (their consumers project
    it from activity.events), for at most `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    pending = {"badge": "/v1/badges", "evidence": "/v1/review-queue"}
    while True:
        for name, path in list(pending.items()):
            answer = await getattr(backends, name).raw("GET", path, key)
            if answer.status_code != 401:
                del pending[name]
        if not pending:
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.1)


# How long pressing "Sign in" waits on a link the activity service cannot take just now.
SESSION_WAIT_SECONDS = 3.0


async def _start_session(backends: Backends, ask: dict[str, str]) -> Any:
    """The session for an emailed link. The email can arrive a moment before the activity
    service has committed the link's request (it answers 503, changing nothing), and a
    service restarting is back in a moment too: asked again for a few seconds before the
    organiser is shown the try-again page."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SESSION_WAIT_SECONDS
    while True:
        try:
            return await backends.activity.post("/v1/sessions", None, json=ask)
        except BackendUnavailable:
            if loop.time() >= deadline:
                raise
            await asyncio.sleep(0.25)


@router.post("/sign-in/{token}")
async def sign_in_with_link(request: Request, token: str) -> Response:
    settings = _settings(request)
    backends = backends_of(request)
    ask = {
        "token": token[:100],
        "user_agent": request.headers.get("user-agent", "")[:1000],
        "client": _client(request)[:100],
    }
    try:
        session = await _start_session(backends, ask)
    except BackendRefused as refused:
        headings = {
            409: "This link has been used",
            410: "This link has expired",
            403: "You cannot sign in",
        }
        return render(
            request,
            "sign_in.html",
            refused.status if refused.status in headings else 404,
            heading=headings.get(refused.status, "This link is not valid"),
            error=refused.message,
            next="/",
            email="",
        )
    key = str(session["api_key"])
    await _wait_until_accepted(backends, key, settings.session_ready_seconds)
    target = safe_next(request.cookies.get(NEXT_COOKIE))
    response = redirect(target, flash="You are signed in.")
    response.set_cookie(
        COOKIE,
        key,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    response.delete_cookie(NEXT_COOKIE, path="/")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, session: SignedIn) -> Response:
    """Ends this session everywhere: its key is revoked, not only the cookie dropped."""
    try:
        await backends_of(request).activity.post(f"/v1/keys/{session.key_id}/revoke", session)
    except BackendRefused as refused:
        if refused.status not in (401, 409):
            raise
    response = redirect("/sign-in", flash="You are signed out.")
    response.delete_cookie(COOKIE, path="/")
    return response
