"""Activities: the list (searched and filtered on the server), create, edit (with when and
where), publish (its badge is made from the activity as it is then) and archive."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console import forms
from services.console.backends import BackendRefused
from services.console.rendering import redirect, render
from services.console.signed_in import Session, SignedIn, backends_of

router = APIRouter()
STATUSES = ("draft", "published", "archived")
# What a form's refusal answers with: shown on the form, with what was typed.
FORM_REFUSALS = (400, 409, 422)


def matches(item: dict[str, Any], query: str, status: str) -> bool:
    """Search on the title and description, filter on the status."""
    if status in STATUSES and item.get("status") != status:
        return False
    words = query.lower().split()
    text = f"{item.get('title', '')} {item.get('description', '')}".lower()
    return all(word in text for word in words)


@router.get("/activities")
async def list_activities(
    request: Request, session: SignedIn, q: str = "", status: str = ""
) -> Response:
    found = await backends_of(request).activity.get("/v1/activities", session)
    shown = [a for a in found if matches(a, q, status)]
    return render(
        request,
        "activities.html",
        activities=shown,
        total=len(found),
        q=q,
        status=status if status in STATUSES else "",
        statuses=STATUSES,
    )


def _blank() -> dict[str, Any]:
    return {
        "title": "",
        "description": "",
        "criteria": "",
        "starts_at": "",
        "ends_at": "",
        "starts_offset": "+00:00",
        "ends_offset": "+00:00",
        "place_name": "",
        "place_address": "",
        "latitude": "",
        "longitude": "",
    }


def _values_of(activity: dict[str, Any]) -> dict[str, Any]:
    found_place = activity.get("place") or {}
    return {
        "title": activity["title"],
        "description": activity["description"],
        "criteria": activity["criteria"],
        "starts_at": forms.as_input(activity.get("starts_at")),
        "ends_at": forms.as_input(activity.get("ends_at")),
        "starts_offset": "+00:00",
        "ends_offset": "+00:00",
        "place_name": found_place.get("name") or "",
        "place_address": found_place.get("address") or "",
        "latitude": "" if found_place.get("latitude") is None else found_place["latitude"],
        "longitude": "" if found_place.get("longitude") is None else found_place["longitude"],
    }


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {key: str(value) for key, value in data.items() if isinstance(value, str)}


def _body(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    problems: dict[str, str] = {}
    body: dict[str, Any] = {
        "title": form.get("title", "").strip(),
        "description": form.get("description", "").strip(),
        "criteria": form.get("criteria", "").strip(),
        "starts_at": forms.moment(
            form.get("starts_at", ""), form.get("starts_offset", ""), "starts_at", problems
        ),
        "ends_at": forms.moment(
            form.get("ends_at", ""), form.get("ends_offset", ""), "ends_at", problems
        ),
        "place": forms.place(form, problems),
    }
    if not body["title"]:
        problems["title"] = "give the activity a title"
    return body, problems


def _editor(
    request: Request,
    activity: dict[str, Any] | None,
    values: dict[str, Any],
    errors: dict[str, str],
    message: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "activity.html" if activity else "activity_new.html",
        status_code,
        activity=activity,
        values=values,
        errors=errors,
        message=message,
        offsets=forms.OFFSETS,
    )


@router.get("/activities/new")
async def new_activity(request: Request, session: SignedIn) -> Response:
    return _editor(request, None, _blank(), {})


@router.post("/activities")
async def create_activity(request: Request, session: SignedIn) -> Response:
    form = await _form(request)
    body, problems = _body(form)
    if problems:
        return _editor(request, None, form, problems, status_code=422)
    try:
        created = await backends_of(request).activity.post("/v1/activities", session, json=body)
    except BackendRefused as refused:
        if refused.status not in FORM_REFUSALS:
            raise
        return _editor(request, None, form, refused.fields, refused.message, refused.status)
    return redirect(f"/activities/{created['id']}", flash="The activity is saved as a draft.")


async def _activity(request: Request, session: Session, activity_id: str) -> dict[str, Any]:
    found: dict[str, Any] = await backends_of(request).activity.get(
        f"/v1/activities/{activity_id}", session
    )
    return found


@router.get("/activities/{activity_id}")
async def show_activity(request: Request, session: SignedIn, activity_id: str) -> Response:
    activity = await _activity(request, session, activity_id)
    return _editor(request, activity, _values_of(activity), {})


@router.post("/activities/{activity_id}")
async def update_activity(request: Request, session: SignedIn, activity_id: str) -> Response:
    activity = await _activity(request, session, activity_id)
    form = await _form(request)
    body, problems = _body(form)
    if problems:
        return _editor(request, activity, form, problems, status_code=422)
    try:
        await backends_of(request).activity.patch(
            f"/v1/activities/{activity_id}", session, json=body
        )
    except BackendRefused as refused:
        if refused.status not in FORM_REFUSALS:
            raise
        return _editor(request, activity, form, refused.fields, refused.message, refused.status)
    said = "Your changes are saved."
    if activity["status"] == "published":
        said += " The badge stays as it was made at publication; edit it on its Badge tab."
    return redirect(f"/activities/{activity_id}", flash=said)


async def _act(request: Request, session: Session, activity_id: str, action: str) -> Response:
    try:
        await backends_of(request).activity.post(f"/v1/activities/{activity_id}/{action}", session)
    except BackendRefused as refused:
        if refused.status != 409:
            raise
        return redirect(f"/activities/{activity_id}", flash=refused.message, kind="error")
    said = {
        "publish": "The activity is published, and its badge is made from it as it is now. "
        "Later edits of the activity do not change the badge.",
        "archive": "The activity is archived: it can no longer change.",
    }[action]
    return redirect(f"/activities/{activity_id}", flash=said)


@router.post("/activities/{activity_id}/publish")
async def publish_activity(request: Request, session: SignedIn, activity_id: str) -> Response:
    return await _act(request, session, activity_id, "publish")


@router.post("/activities/{activity_id}/archive")
async def archive_activity(request: Request, session: SignedIn, activity_id: str) -> Response:
    return await _act(request, session, activity_id, "archive")
