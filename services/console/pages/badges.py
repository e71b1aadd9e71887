"""The Badges tab of an activity or a playlist: its badge as learners will see it, and the
forms that edit it (text, expiry, evidence and its tasks, peer review, the open link, the
image, invited peer reviewers). Every change goes through the badge service's organiser API
as the signed-in organiser; bad input re-renders the form with the message beside the field
and changes nothing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from services.console.backends import BackendRefused, Backends
from services.console.rendering import redirect, render
from services.console.signed_in import Session, SignedIn, backends_of

router = APIRouter()

Kind = Literal["activity", "playlist"]
PLURAL: dict[str, str] = {"activity": "activities", "playlist": "playlists"}
EVIDENCE_MODES = {
    "none": "No evidence: the badge is awarded when the link is accepted",
    "self": "Self-approval: the learner submits evidence and confirms it",
    "peer": "Peer review: other learners or invited reviewers approve it",
    "organiser": "Organiser review: your organisation approves it",
}
TASK_KINDS = {"text": "Text", "url": "A link", "file": "A file"}
DEFAULT_MEDIA_TYPES = "image/png, image/jpeg, application/pdf"
MAX_IMAGE_BYTES = 512 * 1024


@dataclass(frozen=True)
class Source:
    """The activity or playlist whose badge the page is about."""

    kind: Kind
    id: uuid.UUID
    title: str
    status: str

    @property
    def plural(self) -> str:
        return PLURAL[self.kind]

    @property
    def base(self) -> str:
        return f"/{self.plural}/{self.id}"

    @property
    def label(self) -> str:
        return "activity" if self.kind == "activity" else "playlist"

    @property
    def issuing_closed(self) -> bool:
        """An archived playlist changes no more (PlaylistArchived): its badge is issued to
        nobody else, while the badges earned from it stay valid (and can be revoked)."""
        return self.kind == "playlist" and self.status == "archived"


def kind_of(request: Request) -> Kind:
    return "playlist" if request.url.path.startswith("/playlists/") else "activity"


async def source_of(request: Request, source_id: uuid.UUID, session: Session) -> Source:
    """The organiser's own activity or playlist; another organisation's answers 403 or 404
    from the activity service (a `BackendRefused` the console shows as that page)."""
    kind = kind_of(request)
    found = await backends_of(request).activity.get(f"/v1/{PLURAL[kind]}/{source_id}", session)
    return Source(kind, source_id, str(found["title"]), str(found["status"]))


async def badge_of(backends: Backends, session: Session, source: Source) -> dict[str, Any] | None:
    """The badge made when the activity or playlist was published, with its `warnings`; None
    before that."""
    listed = await backends.badge.get("/v1/badges", session, source_id=str(source.id))
    if not listed:
        return None
    found: dict[str, Any] = await backends.badge.get(f"/v1/badges/{listed[0]['id']}", session)
    return found


class NoBadgeYet(Exception):
    """The activity or playlist has no badge (it was never published), or its badge cannot be
    shown: every badge page then answers the same page that says so, with 404 (the console's
    handler, app.py)."""

    def __init__(self, source: Source) -> None:
        super().__init__(f"no badge for {source.kind} {source.id}")
        self.source = source


def no_badge_page(request: Request, error: NoBadgeYet) -> Response:
    return render(request, "badges/none.html", source=error.source, status_code=404)


async def required_badge(backends: Backends, session: Session, source: Source) -> dict[str, Any]:
    """The source's badge (see `badge_of`); raises NoBadgeYet when it has none."""
    badge = await badge_of(backends, session, source)
    if badge is None:
        raise NoBadgeYet(source)
    return badge


async def issuer_of(backends: Backends, badge: dict[str, Any]) -> dict[str, Any]:
    """The issuer as a verifier and a learner see it (its public Open Badges profile)."""
    try:
        found: dict[str, Any] = await backends.badge.get(f"/ob/issuers/{badge['issuer_id']}", None)
    except BackendRefused:
        return {"name": "", "url": ""}
    return found


@dataclass
class BadgeForm:
    """What the edit form shows: the values (as typed, after a refusal) and the problems."""

    values: dict[str, Any]
    tasks: list[dict[str, Any]]
    errors: dict[str, str] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)


def _local_time(value: str | None) -> str:
    """An ISO time as a datetime-local control shows it (UTC, to the minute)."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M")


def form_of(badge: dict[str, Any]) -> BadgeForm:
    link = badge.get("open_link") or {}
    tasks = [
        {
            "task_id": str(task["task_id"]),
            "title": task["title"],
            "description": task.get("description", ""),
            "kind": task["kind"],
            "max_chars": str(task.get("max_chars", "")),
            "max_bytes": str(task.get("max_bytes", "")),
            "media_types": ", ".join(task.get("media_types", [])),
            "remove": False,
        }
        for task in badge.get("tasks", [])
    ]
    values = {
        "name": badge["name"],
        "description": badge["description"],
        "criteria": badge["criteria_narrative"],
        "expires_after_days": str(badge["expires_after_days"] or ""),
        "evidence_mode": badge["evidence_mode"],
        "peer_approvals": str(badge["peer_approvals"]),
        "open_link_enabled": bool(link.get("enabled")),
        "open_link_max_claims": str(link.get("max_claims") or ""),
        "open_link_valid_until": _local_time(link.get("valid_until")),
    }
    return BadgeForm(values, [*tasks, _blank_task()])


def _blank_task() -> dict[str, Any]:
    return {
        "task_id": "",
        "title": "",
        "description": "",
        "kind": "text",
        "max_chars": "5000",
        "max_bytes": str(5 * 1024 * 1024),
        "media_types": DEFAULT_MEDIA_TYPES,
        "remove": False,
    }


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _whole(text: str, name: str, errors: dict[str, str], low: int, high: int) -> int | None:
    """A whole number typed into a field, or the problem with it beside the field."""
    try:
        number = int(text)
    except ValueError:
        errors[name] = "Enter a whole number."
        return None
    if not low <= number <= high:
        errors[name] = f"Enter a number from {low} to {high}."
        return None
    return number


def read_form(form: FormData, kind: Kind) -> tuple[BadgeForm, dict[str, Any], list[str]]:
    """The form as typed, the PATCH it becomes, and for each task sent its field prefix (to
    put the badge service's word on a task beside the right one)."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        name: _text(form, name)
        for name in (
            "name",
            "description",
            "criteria",
            "expires_after_days",
            "evidence_mode",
            "peer_approvals",
            "open_link_max_claims",
            "open_link_valid_until",
        )
    }
    values["open_link_enabled"] = form.get("open_link_enabled") == "on"
    changes: dict[str, Any] = {
        "name": values["name"],
        "description": values["description"],
        "criteria": values["criteria"],
    }
    if not values["name"]:
        errors["name"] = "Enter the badge's name."
    elif len(values["name"]) > 200:
        errors["name"] = "Keep the name to 200 characters."
    for name in ("description", "criteria"):
        if len(values[name]) > 10_000:
            errors[name] = "Keep it to 10,000 characters."
    if values["expires_after_days"]:
        changes["expires_after_days"] = _whole(
            values["expires_after_days"], "expires_after_days", errors, 1, 36_500
        )
    else:
        changes["expires_after_days"] = None
    if values["evidence_mode"] not in EVIDENCE_MODES:
        errors["evidence_mode"] = "Choose how evidence is approved."
    changes["evidence_mode"] = values["evidence_mode"]
    changes["peer_approvals"] = _whole(values["peer_approvals"], "peer_approvals", errors, 1, 10)

    tasks: list[dict[str, Any]] = []
    sent_tasks: list[dict[str, Any]] = []
    prefixes: list[str] = []
    count = _whole(_text(form, "task_count") or "0", "task_count", {}, 0, 21) or 0
    for index in range(count):
        prefix = f"task-{index}-"
        task = {
            name: _text(form, prefix + ("id" if name == "task_id" else name))
            for name in (
                "task_id",
                "title",
                "description",
                "kind",
                "max_chars",
                "max_bytes",
                "media_types",
            )
        }
        tasks.append({**task, "remove": form.get(prefix + "remove") == "on"})
        if tasks[-1]["remove"] or (not task["task_id"] and not task["title"]):
            continue  # removed, or the empty row for a new task left empty
        if not task["title"]:
            errors[prefix + "title"] = "Enter the task's title, or tick Remove."
        if task["kind"] not in TASK_KINDS:
            errors[prefix + "kind"] = "Choose what the learner hands in."
        sent: dict[str, Any] = {
            "title": task["title"],
            "description": task["description"],
            "kind": task["kind"],
            "max_chars": _whole(task["max_chars"], prefix + "max_chars", errors, 1, 100_000),
            "max_bytes": _whole(
                task["max_bytes"], prefix + "max_bytes", errors, 1, 20 * 1024 * 1024
            ),
            "media_types": [t.strip() for t in task["media_types"].split(",") if t.strip()],
        }
        if task["task_id"]:
            sent["task_id"] = task["task_id"]
        sent_tasks.append(sent)
        prefixes.append(prefix)
    changes["tasks"] = sent_tasks
    if changes["evidence_mode"] in ("self", "peer", "organiser") and not sent_tasks:
        errors["task-new"] = "A badge that asks for evidence needs at least one task."

    if kind == "activity":
        link: dict[str, Any] = {"enabled": values["open_link_enabled"]}
        if values["open_link_max_claims"]:
            link["max_claims"] = _whole(
                values["open_link_max_claims"], "open_link_max_claims", errors, 1, 1_000_000
            )
        if values["open_link_valid_until"]:
            try:
                moment = datetime.fromisoformat(values["open_link_valid_until"])
                link["valid_until"] = moment.replace(tzinfo=UTC).isoformat()
            except ValueError:
                errors["open_link_valid_until"] = "Enter a date and time."
        changes["open_link"] = link
    if not tasks or tasks[-1]["task_id"] or tasks[-1]["title"]:
        tasks.append(_blank_task())
    return BadgeForm(values, tasks, errors), changes, prefixes


def _field_of(where: str, prefixes: list[str]) -> str:
    """The form field the badge service named (`tasks.0.title`, `open_link.max_claims`)."""
    parts = where.split(".")
    if parts[0] == "tasks" and len(parts) >= 2 and parts[1].isdigit():
        index = int(parts[1])
        if index < len(prefixes):
            return prefixes[index] + (parts[2] if len(parts) > 2 else "title")
        return "task-new"
    if parts[0] == "criteria_narrative":
        return "criteria"
    return "_".join(parts[:2])


async def _page(
    request: Request,
    session: Session,
    source: Source,
    *,
    form: BadgeForm | None = None,
    status_code: int = 200,
    image_error: str = "",
    reviewers_error: str = "",
    reviewers_value: str = "",
) -> Response:
    backends = backends_of(request)
    badge = await required_badge(backends, session, source)
    reviewers = await backends.badge.get(f"/v1/badges/{badge['id']}/peer-reviewers", session)
    return render(
        request,
        "badges/show.html",
        status_code=status_code,
        source=source,
        badge=badge,
        issuer=await issuer_of(backends, badge),
        form=form or form_of(badge),
        modes=EVIDENCE_MODES,
        task_kinds=TASK_KINDS,
        reviewers=reviewers["emails"],
        image_error=image_error,
        reviewers_error=reviewers_error,
        reviewers_value=reviewers_value,
    )


@router.get("/activities/{source_id}/badge")
@router.get("/playlists/{source_id}/badge")
async def badge_page(request: Request, source_id: uuid.UUID, session: SignedIn) -> Response:
    source = await source_of(request, source_id, session)
    return await _page(request, session, source)


@router.post("/activities/{source_id}/badge")
@router.post("/playlists/{source_id}/badge")
async def edit_badge(request: Request, source_id: uuid.UUID, session: SignedIn) -> Response:
    source = await source_of(request, source_id, session)
    backends = backends_of(request)
    badge = await required_badge(backends, session, source)
    form, changes, prefixes = read_form(await request.form(), source.kind)
    if form.errors:
        return await _page(request, session, source, form=form, status_code=422)
    try:
        await backends.badge.patch(f"/v1/badges/{badge['id']}", session, json=changes)
    except BackendRefused as refused:
        if refused.status >= 500 or refused.status in (401, 403, 404):
            raise
        for where, problem in refused.fields.items():
            form.errors.setdefault(_field_of(where, prefixes), problem)
        form.summary.append(refused.message)
        return await _page(request, session, source, form=form, status_code=refused.status)
    return redirect(f"{source.base}/badge", flash="The badge is saved.")


def _is_upload(value: object) -> bool:
    return isinstance(value, UploadFile) and bool(value.filename)


@router.post("/activities/{source_id}/badge/image")
@router.post("/playlists/{source_id}/badge/image")
async def upload_image(request: Request, source_id: uuid.UUID, session: SignedIn) -> Response:
    source = await source_of(request, source_id, session)
    backends = backends_of(request)
    badge = await required_badge(backends, session, source)
    upload = (await request.form()).get("image")
    if not isinstance(upload, UploadFile) or not _is_upload(upload):
        return await _page(
            request, session, source, status_code=422, image_error="Choose a PNG or SVG image."
        )
    data = await upload.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        return await _page(
            request, session, source, status_code=413, image_error="The image is over 512 KiB."
        )
    files = {"file": (upload.filename or "badge", data, upload.content_type or "")}
    try:
        await backends.badge.put(f"/v1/badges/{badge['id']}/image", session, files=files)
    except BackendRefused as refused:
        if refused.status in (401, 403, 404):
            raise
        return await _page(
            request, session, source, status_code=refused.status, image_error=refused.message
        )
    return redirect(f"{source.base}/badge", flash="The new image is saved.")


def split_addresses(text: str) -> list[str]:
    """Addresses typed or pasted: one a line, or separated by commas, semicolons or spaces."""
    for separator in (",", ";", "\t", "\r"):
        text = text.replace(separator, "\n")
    return [part for line in text.split("\n") for part in line.split(" ") if part.strip()]


@router.post("/activities/{source_id}/badge/peer-reviewers")
@router.post("/playlists/{source_id}/badge/peer-reviewers")
async def invite_reviewers(request: Request, source_id: uuid.UUID, session: SignedIn) -> Response:
    source = await source_of(request, source_id, session)
    backends = backends_of(request)
    badge = await required_badge(backends, session, source)
    typed = _text(await request.form(), "emails")
    emails = split_addresses(typed)
    problem = ""
    if not emails:
        problem = "Enter at least one email address."
    elif len(emails) > 200:
        problem = "Invite at most 200 reviewers at a time."
    for email in emails:
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError as error:
            problem = problem or f"{email[:80]} is not an email address: {error}"
    if problem:
        return await _page(
            request,
            session,
            source,
            status_code=422,
            reviewers_error=problem,
            reviewers_value=typed,
        )
    await backends.badge.post(
        f"/v1/badges/{badge['id']}/peer-reviewers", session, json={"emails": emails}
    )
    invited = "1 reviewer" if len(emails) == 1 else f"{len(emails)} reviewers"
    return redirect(f"{source.base}/badge", flash=f"Invited {invited}: they get an email.")


@router.get("/activities/{source_id}/badge/image")
@router.get("/playlists/{source_id}/badge/image")
async def badge_image(request: Request, source_id: uuid.UUID, session: SignedIn) -> Response:
    """The badge's image from the console's own origin (its pages load nothing from others)."""
    source = await source_of(request, source_id, session)
    backends = backends_of(request)
    badge = await required_badge(backends, session, source)
    answer = await backends.badge.raw("GET", f"/ob/badge-classes/{badge['id']}/image", None)
    if answer.status_code != 200:
        raise NoBadgeYet(source)
    return Response(
        answer.content,
        media_type=answer.headers.get("content-type", "application/octet-stream"),
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
            "Cache-Control": "private, no-cache",
        },
    )
