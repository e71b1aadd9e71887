"""Playlists: an ordered list of the organisation's activities, built with plain forms (add,
remove, move up or down), published once every activity in it is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.backends import BackendRefused
from services.console.pages.activities import STATUSES, matches
from services.console.rendering import redirect, render
from services.console.signed_in import Session, SignedIn, backends_of

router = APIRouter()


def moved(order: list[str], activity_id: str, step: int) -> list[str]:
    """The order with one activity moved up (-1) or down (+1); at an end it stays."""
    if activity_id not in order:
        return order
    at = order.index(activity_id)
    to = at + step
    if not 0 <= to < len(order):
        return order
    changed = list(order)
    changed[at], changed[to] = changed[to], changed[at]
    return changed


def unpublished(playlist: dict[str, Any], activities: dict[str, dict[str, Any]]) -> list[str]:
    """Titles of the playlist's activities that are not published (what stops publishing)."""
    return [
        activities[i]["title"] if i in activities else "an activity that no longer exists"
        for i in map(str, playlist["activity_ids"])
        if activities.get(i, {}).get("status") != "published"
    ]


@router.get("/playlists")
async def list_playlists(
    request: Request, session: SignedIn, q: str = "", status: str = ""
) -> Response:
    found = await backends_of(request).activity.get("/v1/playlists", session)
    shown = [p for p in found if matches(p, q, status)]
    return render(
        request,
        "playlists.html",
        playlists=shown,
        total=len(found),
        q=q,
        status=status if status in STATUSES else "",
    )


@router.get("/playlists/new")
async def new_playlist(request: Request, session: SignedIn) -> Response:
    return render(request, "playlist_new.html", values={}, errors={}, message=None)


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {key: str(value) for key, value in data.items() if isinstance(value, str)}


@router.post("/playlists")
async def create_playlist(request: Request, session: SignedIn) -> Response:
    form = await _form(request)
    body = {
        "title": form.get("title", "").strip(),
        "description": form.get("description", "").strip(),
    }
    if not body["title"]:
        errors = {"title": "give the playlist a title"}
        return render(request, "playlist_new.html", 422, values=form, errors=errors, message=None)
    try:
        created = await backends_of(request).activity.post("/v1/playlists", session, json=body)
    except BackendRefused as refused:
        if refused.status not in (400, 409, 422):
            raise
        return render(
            request,
            "playlist_new.html",
            refused.status,
            values=form,
            errors=refused.fields,
            message=refused.message,
        )
    return redirect(
        f"/playlists/{created['id']}", flash="The playlist is saved as a draft. Add activities."
    )


async def _playlist(request: Request, session: Session, playlist_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await backends_of(request).activity.get(
        f"/v1/playlists/{playlist_id}", session
    )
    return found


async def _page(
    request: Request,
    session: Session,
    playlist: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    every = await backends_of(request).activity.get("/v1/activities", session)
    by_id = {str(a["id"]): a for a in every}
    listed = [str(i) for i in playlist["activity_ids"]]
    return render(
        request,
        "playlist.html",
        status_code,
        playlist=playlist,
        items=[by_id.get(i, {"id": i, "title": "(not found)", "status": "?"}) for i in listed],
        addable=[a for a in every if str(a["id"]) not in listed and a["status"] != "archived"],
        blocking=unpublished(playlist, by_id),
        errors=errors or {},
        message=message,
    )


@router.get("/playlists/{playlist_id}")
async def show_playlist(request: Request, session: SignedIn, playlist_id: str) -> Response:
    return await _page(request, session, await _playlist(request, session, playlist_id))


async def _change(
    request: Request, session: Session, playlist: dict[str, Any], body: dict[str, Any], done: str
) -> Response:
    try:
        await backends_of(request).activity.patch(
            f"/v1/playlists/{playlist['id']}", session, json=body
        )
    except BackendRefused as refused:
        if refused.status not in (400, 404, 409, 422):
            raise
        return await _page(
            request,
            session,
            playlist,
            errors=refused.fields,
            message=refused.message,
            status_code=refused.status,
        )
    return redirect(f"/playlists/{playlist['id']}", flash=done)


@router.post("/playlists/{playlist_id}")
async def update_playlist(request: Request, session: SignedIn, playlist_id: str) -> Response:
    playlist = await _playlist(request, session, playlist_id)
    form = await _form(request)
    body = {
        "title": form.get("title", "").strip(),
        "description": form.get("description", "").strip(),
    }
    if not body["title"]:
        return await _page(
            request,
            session,
            playlist,
            errors={"title": "give the playlist a title"},
            status_code=422,
        )
    return await _change(request, session, playlist, body, "Your changes are saved.")


def _order(playlist: dict[str, Any]) -> list[str]:
    return [str(i) for i in playlist["activity_ids"]]


@router.post("/playlists/{playlist_id}/activities")
async def add_activity(request: Request, session: SignedIn, playlist_id: str) -> Response:
    playlist = await _playlist(request, session, playlist_id)
    chosen = (await _form(request)).get("activity_id", "")
    if not chosen:
        return await _page(
            request,
            session,
            playlist,
            errors={"activity_id": "choose an activity to add"},
            status_code=422,
        )
    order = [*_order(playlist), chosen] if chosen not in _order(playlist) else _order(playlist)
    return await _change(
        request, session, playlist, {"activity_ids": order}, "The activity is added at the end."
    )


@router.post("/playlists/{playlist_id}/activities/{activity_id}/remove")
async def remove_activity(
    request: Request, session: SignedIn, playlist_id: str, activity_id: str
) -> Response:
    playlist = await _playlist(request, session, playlist_id)
    order = [i for i in _order(playlist) if i != activity_id]
    return await _change(
        request, session, playlist, {"activity_ids": order}, "The activity is removed."
    )


@router.post("/playlists/{playlist_id}/activities/{activity_id}/up")
async def move_up(
    request: Request, session: SignedIn, playlist_id: str, activity_id: str
) -> Response:
    playlist = await _playlist(request, session, playlist_id)
    order = moved(_order(playlist), activity_id, -1)
    return await _change(request, session, playlist, {"activity_ids": order}, "Moved up.")


@router.post("/playlists/{playlist_id}/activities/{activity_id}/down")
async def move_down(
    request: Request, session: SignedIn, playlist_id: str, activity_id: str
) -> Response:
    playlist = await _playlist(request, session, playlist_id)
    order = moved(_order(playlist), activity_id, +1)
    return await _change(request, session, playlist, {"activity_ids": order}, "Moved down.")


@router.post("/playlists/{playlist_id}/archive")
async def archive_playlist(request: Request, session: SignedIn, playlist_id: str) -> Response:
    playlist = await _playlist(request, session, playlist_id)
    said = "The playlist is archived: it is no longer in the public catalogue and can no longer "
    return await _act(request, session, playlist, "archive", said + "change.")


async def _act(
    request: Request, session: Session, playlist: dict[str, Any], action: str, said: str
) -> Response:
    """Publish or archive: refused (409), the page again with why; done, the page with `said`."""
    path = f"/v1/playlists/{playlist['id']}/{action}"
    try:
        await backends_of(request).activity.post(path, session)
    except BackendRefused as refused:
        if refused.status != 409:
            raise
        return await _page(request, session, playlist, message=refused.message, status_code=409)
    return redirect(f"/playlists/{playlist['id']}", flash=said)


@router.post("/playlists/{playlist_id}/publish")
async def publish_playlist(request: Request, session: SignedIn, playlist_id: str) -> Response:
    playlist = await _playlist(request, session, playlist_id)
    every = await backends_of(request).activity.get("/v1/activities", session)
    blocking = unpublished(playlist, {str(a["id"]): a for a in every})
    if blocking:
        said = (
            "The playlist cannot be published yet: every activity in it must be published "
            f"first. Not published: {', '.join(blocking)}."
        )
        return await _page(request, session, playlist, message=said, status_code=409)
    said = (
        "The playlist is published and its badge is made: holding the badge of every "
        "activity in it earns it. Its title and activities are now fixed."
    )
    return await _act(request, session, playlist, "publish", said)
