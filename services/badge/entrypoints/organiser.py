"""The organiser API: badges (read, edit, image), issuing (emails, CSV, the open link and its
QR codes), peer reviewers and revocation. Every route acts on the organiser's own badges."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, UploadFile
from fastapi.responses import JSONResponse

from contracts.badge import MAX_REJECTED_KEPT, BlobRef, RecipientsFile, RejectedRow
from services.badge import service_layer
from services.badge.adapters import read_models
from services.badge.adapters.images import MAX_BYTES, InvalidImage, check_image
from services.badge.adapters.qr import qr_png, qr_svg
from services.badge.domain.model import (
    EARNED_ONLY,
    BadgeClass,
    check_issuing_open,
    open_link_allowed,
    peer_review_warnings,
)
from services.badge.entrypoints import recipients
from services.badge.entrypoints.dependencies import BadgeWeb, OwnedBadge, Web, owned
from services.badge.entrypoints.organiser_models import (
    BadgeChanges,
    BadgeClassOut,
    EmailsIn,
    IdempotencyKey,
    PeersIn,
    Prefer,
    RevokeIn,
)
from services.kernel.errors import BadRequest, Conflict, Invalid
from services.kernel.web.route_notes import RouteNote
from services.organiser_access import CurrentOrganiser, Organiser

MAX_BODY_BYTES = 2 * 1024 * 1024
ROUTE_NOTES = {
    "GET /v1/badges/{badge_class_id}/open-link/qr.png": RouteNote(media_types=("image/png",)),
    "GET /v1/badges/{badge_class_id}/open-link/qr.svg": RouteNote(media_types=("image/svg+xml",)),
    # 10,000 addresses as JSON are more than 64 KiB; a retry or no valid address creates nothing.
    "POST /v1/badges/{badge_class_id}/offers": RouteNote(
        also_answers={200: "Nothing new was issued."}, body_limit=MAX_BODY_BYTES
    ),
    "POST /v1/badges/{badge_class_id}/offers/csv": RouteNote(
        also_answers={
            200: "Nothing new was issued.",
            202: "With `Prefer: respond-async`: accepted, its offers are made after the answer; "
            "poll `progress_url`.",
        }
    ),
}


router = APIRouter()

# -- badges ----------------------------------------------------------------------------------


async def _described(web: BadgeWeb, badge: BadgeClass) -> BadgeClassOut:
    async with web.runtime.pool.acquire() as conn:
        holders, invited = await read_models.reviewers_available(conn, badge.badge_class_id)
    return BadgeClassOut.of(badge, web.urls, peer_review_warnings(badge, holders, invited))


@router.get("/v1/badges", tags=["badges"])
async def list_badges(
    organiser: CurrentOrganiser, web: Web, source_id: uuid.UUID | None = None
) -> list[BadgeClassOut]:
    """Your organisation's badges; `source_id` finds the badge of one activity or playlist."""
    async with web.runtime.pool.acquire() as conn:
        found = await read_models.list_badge_classes(conn, organiser.organisation_id, source_id)
    return [BadgeClassOut.of(badge, web.urls) for badge in found]


@router.get("/v1/badges/{badge_class_id}", tags=["badges"])
async def get_badge(badge: OwnedBadge, web: Web) -> BadgeClassOut:
    return await _described(web, badge)


@router.patch("/v1/badges/{badge_class_id}", tags=["badges"])
async def edit_badge(
    badge_class_id: uuid.UUID, body: BadgeChanges, organiser: CurrentOrganiser, web: Web
) -> BadgeClassOut:
    """Edit before issuing. Fields left out stay as they are; `expires_after_days: null`
    makes awards permanent. Badges already awarded show the new text too. A playlist's
    badge is earned, never claimed: turning its open link on answers 409. The answer's
    `warnings` say what will not work as expected (peer review with nobody to review)."""
    changes = body.changes()
    for field, value in changes.items():
        if value is None and field != "expires_after_days":
            raise Invalid(f"{field} cannot be null")
    if "tasks" in changes:
        changes["tasks"] = tuple(task.task(badge_class_id) for task in changes["tasks"])
    badge = await service_layer.edit(web.runtime, organiser, badge_class_id, changes)
    return await _described(web, badge)


@router.put("/v1/badges/{badge_class_id}/image", tags=["badges"])
async def upload_image(
    badge_class_id: uuid.UUID, file: UploadFile, organiser: CurrentOrganiser, web: Web
) -> BadgeClassOut:
    """A PNG (64 to 2048 pixels a side) or a plain SVG, at most 512 KiB."""
    await owned(web, organiser, badge_class_id)  # before anything is stored
    data = await file.read(MAX_BYTES + 1)
    try:
        checked = check_image(data)
    except InvalidImage as error:
        raise Invalid(f"the image was refused: {error}") from error
    image = BlobRef(
        sha256=web.blobs.put(checked.data),
        size=len(checked.data),
        media_type=checked.media_type,
    )
    badge = await service_layer.edit(web.runtime, organiser, badge_class_id, {"image": image})
    return BadgeClassOut.of(badge, web.urls)


# -- issuing ---------------------------------------------------------------------------------


async def _issue(
    web: BadgeWeb,
    badge_class_id: uuid.UUID,
    organiser: Organiser,
    parsed: tuple[list[service_layer.Recipient], list[recipients.Rejected]],
    idempotency_key: str | None,
) -> JSONResponse:
    accepted, rejected = parsed
    await owned(web, organiser, badge_class_id)
    key = idempotency_key or str(uuid.uuid4())
    result = await service_layer.offer_to_emails(
        web.runtime, organiser, badge_class_id, accepted, key, web.offer_ids
    )
    body = {
        "idempotency_key": key,
        "issue_id": str(result.issue_id),
        "progress_url": f"{web.urls.base}/v1/badges/{badge_class_id}/issues/{result.issue_id}",
        "created": result.created,
        "offers": [{**o, "offer_id": str(o["offer_id"])} for o in result.offers],
        "rejected": [vars(r) for r in rejected],
    }
    status = 201 if result.created else 200
    return JSONResponse(body, status_code=status)


@router.post("/v1/badges/{badge_class_id}/offers", tags=["issuing"], status_code=201)
async def offer_to_emails(
    badge_class_id: uuid.UUID,
    body: EmailsIn,
    organiser: CurrentOrganiser,
    web: Web,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Issue to one address (`email`) or many (`emails`, up to 10,000). Each valid address
    gets a personal, single-use claim link by email; invalid ones come back in `rejected`
    with their row number (1 = the first) and reason."""
    emails = [body.email] if body.email is not None else list(body.emails or [])
    try:
        parsed = recipients.from_list(emails)
    except recipients.UnreadableRecipients as error:
        raise Invalid(str(error)) from error
    return await _issue(web, badge_class_id, organiser, parsed, idempotency_key)


@router.post("/v1/badges/{badge_class_id}/offers/csv", tags=["issuing"], status_code=201)
async def offer_to_csv(
    badge_class_id: uuid.UUID,
    file: UploadFile,
    organiser: CurrentOrganiser,
    web: Web,
    idempotency_key: IdempotencyKey = None,
    prefer: Prefer = None,
) -> JSONResponse:
    """Issue to the addresses of a CSV file (up to 10,000 rows): the column headed `email`,
    else the first column. Rows are numbered as a spreadsheet shows them. With `Prefer:
    respond-async` the answer (202) comes once the file is kept and the issue recorded in the
    log, before any offer is made; `progress_url` then counts the rows as they become offers
    and their emails as they go out, until `done`."""
    data = await file.read()
    try:
        parsed = recipients.from_csv(data)
    except recipients.UnreadableRecipients as error:
        raise BadRequest(str(error)) from error
    accepted, rejected = parsed
    if not (prefer and "respond-async" in prefer.lower() and accepted):
        return await _issue(web, badge_class_id, organiser, parsed, idempotency_key)
    badge = await owned(web, organiser, badge_class_id)  # before anything is stored
    key = idempotency_key or str(uuid.uuid4())
    if not await service_layer.bulk_issue_recorded(web.runtime, badge_class_id, key):
        check_issuing_open(badge)  # a retry of one recorded before the close still answers
    kept = RecipientsFile(sha256=web.blobs.put(data), size=len(data))
    issue_id = await service_layer.request_bulk_issue(
        web.runtime,
        organiser,
        badge_class_id,
        key,
        kept,
        len(accepted),
        [RejectedRow(row=r.row, value=r.value, reason=r.reason[:500]) for r in rejected][
            :MAX_REJECTED_KEPT
        ],
        len(rejected),
    )
    body = {
        "idempotency_key": key,
        "issue_id": str(issue_id),
        "progress_url": f"{web.urls.base}/v1/badges/{badge_class_id}/issues/{issue_id}",
        "rows": len(accepted),
        "rejected": [vars(r) for r in rejected],
    }
    web.bulk_issues_accepted()
    return JSONResponse(body, status_code=202, headers={"Preference-Applied": "respond-async"})


@router.get("/v1/badges/{badge_class_id}/offers", tags=["issuing"])
async def list_offers(
    badge: OwnedBadge, web: Web, issue_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """Every offer with the state of its email (`pending`, `retrying`, `sent`, `failed` with
    why, `resending`); `issue_id` keeps those of one bulk issue."""
    async with web.runtime.pool.acquire() as conn:
        return await read_models.list_offers(conn, badge.badge_class_id, issue_id)


@router.get("/v1/badges/{badge_class_id}/issues/{issue_id}", tags=["issuing"])
async def issue_progress(badge: OwnedBadge, issue_id: uuid.UUID, web: Web) -> dict[str, Any]:
    """How far one bulk issue (the `issue_id` its answer gave) has got, to poll while its
    emails go out: `offers` made, their emails by status, and how many were claimed. An
    unknown id counts nothing yet (its offers may still be on their way to the read model)."""
    async with web.runtime.pool.acquire() as conn:
        counts = await read_models.issue_progress(conn, badge.badge_class_id, issue_id)
        worked = await read_models.bulk_issue(conn, badge.badge_class_id, issue_id)
    settled = counts["sent"] + counts["failed"]
    if worked is None:
        return {"issue_id": str(issue_id), **counts, "done": counts["offers"] == settled}
    # Accepted with `Prefer: respond-async`: done once every row is an offer and every email
    # is sent or failed.
    return {
        "issue_id": str(issue_id),
        **counts,
        "rows": worked.rows,
        "rejected": worked.rejected,
        "rejected_count": worked.rejected_count,
        "offers_made": worked.finished,
        "error": worked.error,
        "done": worked.finished and counts["offers"] == settled,
    }


def _open_link_url(web: BadgeWeb, badge: BadgeClass) -> str:
    if not open_link_allowed(badge):
        raise Conflict(EARNED_ONLY)
    return web.urls.claim(web.tokens.open(badge.badge_class_id, badge.open_link_generation))


def _open_link(web: BadgeWeb, badge: BadgeClass) -> dict[str, Any]:
    base = f"{web.urls.base}/v1/badges/{badge.badge_class_id}/open-link"
    return {
        "url": _open_link_url(web, badge),
        "qr_png": f"{base}/qr.png",
        "qr_svg": f"{base}/qr.svg",
        **badge.open_link.model_dump(mode="json"),
        "claims": badge.open_link_claims,
    }


@router.get("/v1/badges/{badge_class_id}/open-link", tags=["issuing"])
async def open_link(badge: OwnedBadge, web: Web) -> dict[str, Any]:
    """The badge's URL link and its QR code, to share; anyone who opens it can claim.
    A playlist's badge has none (409): it is earned by holding its activities' badges."""
    return _open_link(web, badge)


@router.get("/v1/badges/{badge_class_id}/open-link/qr.png", tags=["issuing"])
async def open_link_png(badge: OwnedBadge, web: Web) -> Response:
    return Response(
        qr_png(_open_link_url(web, badge)),
        media_type="image/png",
        headers={"Content-Disposition": f'attachment; filename="badge-{badge.badge_class_id}.png"'},
    )


@router.get("/v1/badges/{badge_class_id}/open-link/qr.svg", tags=["issuing"])
async def open_link_svg(badge: OwnedBadge, web: Web) -> Response:
    return Response(
        qr_svg(_open_link_url(web, badge)),
        media_type="image/svg+xml",
        headers={"Content-Disposition": f'attachment; filename="badge-{badge.badge_class_id}.svg"'},
    )


@router.post("/v1/badges/{badge_class_id}/open-link/regenerate", tags=["issuing"])
async def regenerate(
    badge_class_id: uuid.UUID, organiser: CurrentOrganiser, web: Web
) -> dict[str, Any]:
    """A new link and QR code; the old ones stop working at once."""
    badge = await service_layer.regenerate_open_link(web.runtime, organiser, badge_class_id)
    return _open_link(web, badge)


@router.post("/v1/badges/{badge_class_id}/peer-reviewers", tags=["evidence"])
async def invite_peers(
    badge_class_id: uuid.UUID, body: PeersIn, organiser: CurrentOrganiser, web: Web
) -> dict[str, Any]:
    """People you trust to review evidence for this badge (besides its holders)."""
    accepted, rejected = recipients.from_list(body.emails)
    await service_layer.invite_peers(
        web.runtime, organiser, badge_class_id, [r.email for r in accepted]
    )
    return {"invited": [r.email for r in accepted], "rejected": [vars(r) for r in rejected]}


@router.get("/v1/badges/{badge_class_id}/peer-reviewers", tags=["evidence"])
async def list_peers(badge: OwnedBadge, web: Web) -> dict[str, list[str]]:
    """The reviewers invited to this badge, by email."""
    async with web.runtime.pool.acquire() as conn:
        return {"emails": await read_models.peer_reviewers(conn, badge.badge_class_id)}


@router.get("/v1/badges/{badge_class_id}/assertions", tags=["issuing"])
async def list_assertions(badge: OwnedBadge, web: Web) -> list[dict[str, Any]]:
    async with web.runtime.pool.acquire() as conn:
        found = await read_models.list_assertions(conn, badge.badge_class_id)
    return [{**a, "url": web.urls.assertion(a["assertion_id"])} for a in found]


@router.post(
    "/v1/offers/{offer_id}/resend",
    tags=["issuing"],
    status_code=202,
    responses={
        403: {"description": "The offer belongs to another organisation."},
        404: {"description": "No such offer."},
        409: {"description": "Its email did not fail, or the offer is claimed or expired."},
    },
)
async def resend_offer(
    offer_id: uuid.UUID, organiser: CurrentOrganiser, web: Web
) -> dict[str, Any]:
    """Send a failed offer's email again (the same personal link). The offer's
    `email_status` is `resending` until the notifier records it as `sent` or `failed`."""
    return await service_layer.request_resend(web.runtime, organiser, offer_id)


@router.post("/v1/assertions/{assertion_id}/revoke", tags=["issuing"])
async def revoke(
    assertion_id: uuid.UUID, body: RevokeIn, organiser: CurrentOrganiser, web: Web
) -> dict[str, Any]:
    """The Assertion then answers as revoked and the issuer's revocation list names it."""
    await service_layer.revoke(web.runtime, organiser, assertion_id, body.reason)
    return {"assertion_id": str(assertion_id), "revoked": True, "reason": body.reason}
