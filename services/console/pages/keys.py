"""The organiser's own API keys (for integrations: create, shown once, revoke) and their
console sessions (each a session key: where and when it began, end one)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.backends import BackendRefused
from services.console.rendering import redirect, render
from services.console.signed_in import COOKIE, Session, SignedIn, backends_of

router = APIRouter()


def live(key: dict[str, Any], now: datetime) -> bool:
    if key.get("revoked"):
        return False
    expires = key.get("expires_at")
    return expires is None or datetime.fromisoformat(expires) > now


def own_keys(keys: list[dict[str, Any]], session: Session, purpose: str) -> list[dict[str, Any]]:
    """The organiser's own keys of one purpose, newest first."""
    mine = [
        k
        for k in keys
        if str(k["organiser_id"]) == str(session.organiser_id)
        and k.get("purpose", "api") == purpose
    ]
    return sorted(mine, key=lambda k: k.get("issued_at") or "", reverse=True)


async def _keys(request: Request, session: Session) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await backends_of(request).activity.get("/v1/keys", session)
    return found


@router.get("/keys")
async def list_keys(request: Request, session: SignedIn) -> Response:
    keys = own_keys(await _keys(request, session), session, "api")
    return render(request, "keys.html", keys=keys, new_key=None)


@router.post("/keys")
async def create_key(request: Request, session: SignedIn) -> Response:
    issued = await backends_of(request).activity.post("/v1/keys", session)
    keys = own_keys(await _keys(request, session), session, "api")
    # Shown on this answer only (not after a redirect): it is never readable again.
    response = render(request, "keys.html", 201, keys=keys, new_key=issued)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _revoke(request: Request, session: Session, key_id: str, purpose: str) -> str | None:
    """Revoke one of the organiser's own keys of `purpose`; a refusal's words, if any."""
    mine = {k["key_id"] for k in own_keys(await _keys(request, session), session, purpose)}
    if key_id not in mine:
        return "There is no such key of yours."
    try:
        await backends_of(request).activity.post(f"/v1/keys/{key_id}/revoke", session)
    except BackendRefused as refused:
        if refused.status not in (404, 409):
            raise
        return refused.message
    return None


@router.post("/keys/{key_id}/revoke")
async def revoke_key(request: Request, session: SignedIn, key_id: str) -> Response:
    refused = await _revoke(request, session, key_id, "api")
    if refused:
        return redirect("/keys", flash=refused, kind="error")
    return redirect(
        "/keys", flash=f"The key obk_{key_id} is revoked: every service refuses it now."
    )


@router.get("/sessions")
async def list_sessions(request: Request, session: SignedIn) -> Response:
    now = datetime.now(UTC)
    sessions = [k for k in own_keys(await _keys(request, session), session, "session")]
    return render(
        request,
        "sessions.html",
        sessions=[k for k in sessions if live(k, now)],
        current=session.key_id,
    )


@router.post("/sessions/{key_id}/end")
async def end_session(request: Request, session: SignedIn, key_id: str) -> Response:
    refused = await _revoke(request, session, key_id, "session")
    if refused:
        return redirect("/sessions", flash=refused, kind="error")
    if key_id == session.key_id:
        response = redirect("/sign-in", flash="This session is ended: you are signed out.")
        response.delete_cookie(COOKIE, path="/")
        return response
    return redirect("/sessions", flash="The session is ended: that browser is signed out.")
