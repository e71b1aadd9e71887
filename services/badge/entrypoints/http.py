"""The badge service's organiser API and public Open Badges documents."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, Request, Response, UploadFile
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from contracts.badge import BlobRef, EvidenceTask, OpenLink
from contracts.tokens import ClaimTokens
from services.badge import service_layer
from services.badge.adapters import read_models
from services.badge.adapters.baking import bake_png, bake_svg
from services.badge.adapters.images import MAX_BYTES, InvalidImage, check_image
from services.badge.adapters.qr import qr_png, qr_svg
from services.badge.domain.model import (
    EARNED_ONLY,
    BadgeClass,
    OfferIds,
    allowed_open_link,
    open_link_allowed,
    peer_review_warnings,
)
from services.badge.entrypoints import offer_resends, recipients
from services.badge.entrypoints.open_badges import (
    MEDIA_TYPE,
    OpenBadgesUrls,
    assertion_document,
    badge_class_document,
    issuer_profile,
    revocation_list,
    revoked_assertion_document,
)
from services.badge.entrypoints.rendering import message, parse_id, wants_html
from services.kernel.blob_store import BlobStore
from services.kernel.errors import BadRequest, Conflict, DomainError, Forbidden, NotFound
from services.kernel.http import new_app
from services.kernel.runtime import ServiceRuntime
from services.kernel.web.route_notes import RouteNote
from services.organiser_access import CurrentOrganiser, Organiser

MAX_BODY_BYTES = 2 * 1024 * 1024
# An image opened on its own must not run or load anything, whatever slipped through.
SAFE_IMAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "X-Content-Type-Options": "nosniff",
}
# What the OpenAPI document and the body limit need to know beyond the routes' own signatures.
IMAGES = ("image/png", "image/svg+xml")
ROUTE_NOTES = {
    "GET /ob/issuers/{issuer_id}": RouteNote(media_types=(MEDIA_TYPE,)),
    "GET /ob/issuers/{issuer_id}/revocations": RouteNote(media_types=(MEDIA_TYPE,)),
    "GET /ob/badge-classes/{badge_class_id}": RouteNote(media_types=(MEDIA_TYPE,)),
    "GET /ob/badge-classes/{badge_class_id}/image": RouteNote(media_types=IMAGES),
    "GET /ob/assertions/{assertion_id}": RouteNote(media_types=(MEDIA_TYPE,)),
    "GET /ob/assertions/{assertion_id}/baked": RouteNote(media_types=IMAGES),
    "GET /v1/badges/{badge_class_id}/open-link/qr.png": RouteNote(media_types=("image/png",)),
    "GET /v1/badges/{badge_class_id}/open-link/qr.svg": RouteNote(media_types=("image/svg+xml",)),
    # 10,000 addresses as JSON are more than 64 KiB; a retry or no valid address creates nothing.
    "POST /v1/badges/{badge_class_id}/offers": RouteNote(
        also_answers={200: "Nothing new was issued."}, body_limit=MAX_BODY_BYTES
    ),
    "POST /v1/badges/{badge_class_id}/offers/csv": RouteNote(
        also_answers={200: "Nothing new was issued."}
    ),
}


class Invalid(DomainError):
    status_code = 422


class Gone(DomainError):
    status_code = 410


class BadgeClassOut(BaseModel):
    id: uuid.UUID
    issuer_id: uuid.UUID
    source_kind: str
    source_id: uuid.UUID
    name: str
    description: str
    criteria_narrative: str
    image_url: str
    open_badges_url: str
    required_activity_ids: list[uuid.UUID]
    expires_after_days: int | None
    evidence_mode: str
    open_link: OpenLink
    open_link_claims: int
    tasks: list[EvidenceTask]
    peer_approvals: int
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = Field(
        default=[], description="What may not work as you expect with these settings, and why."
    )

    @classmethod
    def of(
        cls, badge: BadgeClass, urls: OpenBadgesUrls, warnings: list[str] | None = None
    ) -> BadgeClassOut:
        return cls(
            id=badge.badge_class_id,
            issuer_id=badge.issuer_id,
            source_kind=badge.source_kind,
            source_id=badge.source_id,
            name=badge.name,
            description=badge.description,
            criteria_narrative=badge.criteria_narrative,
            image_url=urls.badge_image(badge.badge_class_id),
            open_badges_url=urls.badge_class(badge.badge_class_id),
            required_activity_ids=list(badge.required_activity_ids),
            expires_after_days=badge.expires_after_days,
            evidence_mode=badge.evidence_mode,
            # A row projected before playlist badges lost their link shows it off, as it is.
            open_link=allowed_open_link(badge, badge.open_link),
            open_link_claims=badge.open_link_claims,
            tasks=list(badge.tasks),
            peer_approvals=badge.peer_approvals,
            created_at=badge.created_at,
            updated_at=badge.updated_at,
            warnings=warnings or [],
        )


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    task_id: uuid.UUID | None = Field(default=None, description="Keep it to edit a task in place.")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5_000)
    kind: Literal["text", "url", "file"]
    max_chars: int = Field(default=5_000, ge=1, le=20_000)
    max_bytes: int = Field(default=5 * 1024 * 1024, ge=1, le=20 * 1024 * 1024)
    media_types: list[Annotated[str, Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$")]] = Field(
        default=["image/png", "image/jpeg", "application/pdf"], max_length=20
    )

    def task(self, badge_class_id: uuid.UUID) -> EvidenceTask:
        # A task keeps its id while its title stays, so quests under way still match it.
        task_id = self.task_id or uuid.uuid5(badge_class_id, f"task:{self.title}")
        return EvidenceTask(task_id=task_id, **self.model_dump(exclude={"task_id"}))


class PeersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    emails: list[Annotated[str, Field(max_length=320)]] = Field(min_length=1, max_length=200)


Criteria = Annotated[
    str,
    Field(
        max_length=10_000,
        description="What earns the badge, in words (the BadgeClass's `criteria.narrative`).",
    ),
]


class BadgeChanges(BaseModel):
    """Fields left out stay as they are. Only `expires_after_days` takes null (never expires):
    the others cannot be emptied that way, so their schema shows them as not nullable."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"not": {"required": ["criteria", "criteria_narrative"]}},
    )

    name: Annotated[str, Field(min_length=1, max_length=200)] | SkipJsonSchema[None] = None
    description: Annotated[str, Field(max_length=10_000)] | SkipJsonSchema[None] = None
    criteria: Criteria | SkipJsonSchema[None] = None
    criteria_narrative: Criteria | SkipJsonSchema[None] = Field(
        default=None, description="The same as `criteria` (give one of them)."
    )
    expires_after_days: int | None = Field(
        default=None, ge=1, le=36_500, description="Days an award stays valid; null: forever."
    )
    evidence_mode: Literal["none", "self", "peer", "organiser"] | SkipJsonSchema[None] = None
    open_link: OpenLink | SkipJsonSchema[None] = None
    tasks: Annotated[list[TaskIn], Field(max_length=20)] | SkipJsonSchema[None] = None
    peer_approvals: Annotated[int, Field(ge=1, le=10)] | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _one_criteria(self) -> BadgeChanges:
        if {"criteria", "criteria_narrative"} <= self.model_fields_set:
            raise ValueError("give `criteria` or `criteria_narrative` (the same field), not both")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields given, under the badge's own names (`criteria` is `criteria_narrative`)."""
        given = {field: getattr(self, field) for field in self.model_fields_set}
        if "criteria" in given:
            given["criteria_narrative"] = given.pop("criteria")
        return given


Address = Annotated[str, Field(max_length=320)]


class EmailsIn(BaseModel):
    """One address (`email`) or a list of them (`emails`): one of the two, not both."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"oneOf": [{"required": ["email"]}, {"required": ["emails"]}]},
    )

    email: Address | SkipJsonSchema[None] = None
    emails: (
        Annotated[list[Address], Field(min_length=1, max_length=recipients.MAX_ROWS)]
        | SkipJsonSchema[None]
    ) = None

    @model_validator(mode="after")
    def _email_or_emails(self) -> EmailsIn:
        if self.model_fields_set != {"email"} and self.model_fields_set != {"emails"}:
            raise ValueError("give `email` (one address) or `emails` (a list), one of the two")
        if self.email is None and self.emails is None:
            raise ValueError("`email` or `emails` cannot be null")
        return self


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=1_000)


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Send the same key when retrying: nothing is issued twice.",
    ),
]


def _json_ld(document: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        document, media_type=MEDIA_TYPE, headers={"Access-Control-Allow-Origin": "*"}
    )


def build_app(
    runtime: ServiceRuntime,
    public_url: str,
    blobs: BlobStore,
    tokens: ClaimTokens,
    offer_ids: OfferIds,
) -> FastAPI:
    urls = OpenBadgesUrls(public_url)
    app = new_app(
        "Badge service",
        "Badges made from published activities and playlists: edit them, issue them to emails, "
        "as a QR code or a link, and host their Open Badges 2.0 documents. Organiser endpoints "
        "take `Authorization: Bearer obk_...`.",
        max_body_bytes=MAX_BODY_BYTES,
        public_urls=[public_url],
        route_notes=ROUTE_NOTES,
    )
    app.state.runtime = runtime
    app.include_router(offer_resends.router)

    async def owned(badge_class_id: uuid.UUID, organiser: Organiser) -> BadgeClass:
        async with runtime.pool.acquire() as conn:
            badge = await read_models.get_badge_class(conn, badge_class_id)
        if badge is None:
            raise NotFound("badge not found")
        if badge.issuer_id != organiser.organisation_id:
            raise Forbidden("this badge belongs to another organisation")
        return badge

    async def public_badge(badge_class_id: uuid.UUID) -> BadgeClass:
        async with runtime.pool.acquire() as conn:
            badge = await read_models.get_badge_class(conn, badge_class_id)
        if badge is None:
            raise NotFound("badge not found")
        return badge

    # -- organiser: badges ---------------------------------------------------------------------

    @app.get("/v1/badges", tags=["badges"])
    async def list_badges(
        organiser: CurrentOrganiser, source_id: uuid.UUID | None = None
    ) -> list[BadgeClassOut]:
        """Your organisation's badges; `source_id` finds the badge of one activity or playlist."""
        async with runtime.pool.acquire() as conn:
            found = await read_models.list_badge_classes(conn, organiser.organisation_id, source_id)
        return [BadgeClassOut.of(badge, urls) for badge in found]

    async def described(badge: BadgeClass) -> BadgeClassOut:
        async with runtime.pool.acquire() as conn:
            holders, invited = await read_models.reviewers_available(conn, badge.badge_class_id)
        return BadgeClassOut.of(badge, urls, peer_review_warnings(badge, holders, invited))

    @app.get("/v1/badges/{badge_class_id}", tags=["badges"])
    async def get_badge(badge_class_id: uuid.UUID, organiser: CurrentOrganiser) -> BadgeClassOut:
        return await described(await owned(badge_class_id, organiser))

    @app.patch("/v1/badges/{badge_class_id}", tags=["badges"])
    async def edit_badge(
        badge_class_id: uuid.UUID, body: BadgeChanges, organiser: CurrentOrganiser
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
        badge = await service_layer.edit(runtime, organiser, badge_class_id, changes)
        return await described(badge)

    @app.put("/v1/badges/{badge_class_id}/image", tags=["badges"])
    async def upload_image(
        badge_class_id: uuid.UUID, file: UploadFile, organiser: CurrentOrganiser
    ) -> BadgeClassOut:
        """A PNG (64 to 2048 pixels a side) or a plain SVG, at most 512 KiB."""
        await owned(badge_class_id, organiser)
        data = await file.read(MAX_BYTES + 1)
        try:
            checked = check_image(data)
        except InvalidImage as error:
            raise Invalid(f"the image was refused: {error}") from error
        image = BlobRef(
            sha256=blobs.put(checked.data),
            size=len(checked.data),
            media_type=checked.media_type,
        )
        badge = await service_layer.edit(runtime, organiser, badge_class_id, {"image": image})
        return BadgeClassOut.of(badge, urls)

    # -- organiser: issuing --------------------------------------------------------------------

    async def issue(
        badge_class_id: uuid.UUID,
        organiser: Organiser,
        parsed: tuple[list[service_layer.Recipient], list[recipients.Rejected]],
        idempotency_key: str | None,
    ) -> JSONResponse:
        accepted, rejected = parsed
        await owned(badge_class_id, organiser)
        key = idempotency_key or str(uuid.uuid4())
        result = await service_layer.offer_to_emails(
            runtime, organiser, badge_class_id, accepted, key, offer_ids
        )
        body = {
            "idempotency_key": key,
            "created": result.created,
            "offers": [{**o, "offer_id": str(o["offer_id"])} for o in result.offers],
            "rejected": [vars(r) for r in rejected],
        }
        status = 201 if result.created else 200
        return JSONResponse(body, status_code=status)

    @app.post("/v1/badges/{badge_class_id}/offers", tags=["issuing"], status_code=201)
    async def offer_to_emails(
        badge_class_id: uuid.UUID,
        body: EmailsIn,
        organiser: CurrentOrganiser,
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
        return await issue(badge_class_id, organiser, parsed, idempotency_key)

    @app.post("/v1/badges/{badge_class_id}/offers/csv", tags=["issuing"], status_code=201)
    async def offer_to_csv(
        badge_class_id: uuid.UUID,
        file: UploadFile,
        organiser: CurrentOrganiser,
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        """Issue to the addresses of a CSV file (up to 10,000 rows): the column headed `email`,
        else the first column. Rows are numbered as a spreadsheet shows them."""
        try:
            parsed = recipients.from_csv(await file.read())
        except recipients.UnreadableRecipients as error:
            raise BadRequest(str(error)) from error
        return await issue(badge_class_id, organiser, parsed, idempotency_key)

    @app.get("/v1/badges/{badge_class_id}/offers", tags=["issuing"])
    async def list_offers(
        badge_class_id: uuid.UUID, organiser: CurrentOrganiser
    ) -> list[dict[str, Any]]:
        """Every offer with the state of its email (`pending`, `sent` or `failed` with why)."""
        await owned(badge_class_id, organiser)
        async with runtime.pool.acquire() as conn:
            return await read_models.list_offers(conn, badge_class_id)

    def open_link_url(badge: BadgeClass) -> str:
        if not open_link_allowed(badge):
            raise Conflict(EARNED_ONLY)
        return urls.claim(tokens.open(badge.badge_class_id, badge.open_link_generation))

    @app.get("/v1/badges/{badge_class_id}/open-link", tags=["issuing"])
    async def open_link(badge_class_id: uuid.UUID, organiser: CurrentOrganiser) -> dict[str, Any]:
        """The badge's URL link and its QR code, to share; anyone who opens it can claim.
        A playlist's badge has none (409): it is earned by holding its activities' badges."""
        badge = await owned(badge_class_id, organiser)
        base = f"{public_url.rstrip('/')}/v1/badges/{badge_class_id}/open-link"
        return {
            "url": open_link_url(badge),
            "qr_png": f"{base}/qr.png",
            "qr_svg": f"{base}/qr.svg",
            **badge.open_link.model_dump(mode="json"),
            "claims": badge.open_link_claims,
        }

    @app.get("/v1/badges/{badge_class_id}/open-link/qr.png", tags=["issuing"])
    async def open_link_png(badge_class_id: uuid.UUID, organiser: CurrentOrganiser) -> Response:
        badge = await owned(badge_class_id, organiser)
        return Response(
            qr_png(open_link_url(badge)),
            media_type="image/png",
            headers={"Content-Disposition": f'attachment; filename="badge-{badge_class_id}.png"'},
        )

    @app.get("/v1/badges/{badge_class_id}/open-link/qr.svg", tags=["issuing"])
    async def open_link_svg(badge_class_id: uuid.UUID, organiser: CurrentOrganiser) -> Response:
        badge = await owned(badge_class_id, organiser)
        return Response(
            qr_svg(open_link_url(badge)),
            media_type="image/svg+xml",
            headers={"Content-Disposition": f'attachment; filename="badge-{badge_class_id}.svg"'},
        )

    @app.post("/v1/badges/{badge_class_id}/open-link/regenerate", tags=["issuing"])
    async def regenerate(badge_class_id: uuid.UUID, organiser: CurrentOrganiser) -> dict[str, Any]:
        """A new link and QR code; the old ones stop working at once."""
        open_link_url(await owned(badge_class_id, organiser))
        await service_layer.regenerate_open_link(runtime, organiser, badge_class_id)
        return await open_link(badge_class_id, organiser)

    @app.post("/v1/badges/{badge_class_id}/peer-reviewers", tags=["evidence"])
    async def invite_peers(
        badge_class_id: uuid.UUID, body: PeersIn, organiser: CurrentOrganiser
    ) -> dict[str, Any]:
        """People you trust to review evidence for this badge (besides its holders)."""
        accepted, rejected = recipients.from_list(body.emails)
        await owned(badge_class_id, organiser)
        await service_layer.invite_peers(
            runtime, organiser, badge_class_id, [r.email for r in accepted]
        )
        return {"invited": [r.email for r in accepted], "rejected": [vars(r) for r in rejected]}

    @app.get("/v1/badges/{badge_class_id}/assertions", tags=["issuing"])
    async def list_assertions(
        badge_class_id: uuid.UUID, organiser: CurrentOrganiser
    ) -> list[dict[str, Any]]:
        await owned(badge_class_id, organiser)
        async with runtime.pool.acquire() as conn:
            found = await read_models.list_assertions(conn, badge_class_id)
        return [{**a, "url": urls.assertion(a["assertion_id"])} for a in found]

    @app.post("/v1/assertions/{assertion_id}/revoke", tags=["issuing"])
    async def revoke(
        assertion_id: uuid.UUID, body: RevokeIn, organiser: CurrentOrganiser
    ) -> dict[str, Any]:
        """The Assertion then answers as revoked and the issuer's revocation list names it."""
        await service_layer.revoke(runtime, organiser, assertion_id, body.reason)
        return {"assertion_id": str(assertion_id), "revoked": True, "reason": body.reason}

    # -- public: Open Badges documents ---------------------------------------------------------

    @app.get("/ob/issuers/{issuer_id}", tags=["open badges"])
    async def issuer(issuer_id: uuid.UUID) -> JSONResponse:
        async with runtime.pool.acquire() as conn:
            found = await read_models.get_issuer(conn, issuer_id)
        if found is None:
            raise NotFound("issuer not found")
        return _json_ld(issuer_profile(urls, found))

    @app.get("/ob/issuers/{issuer_id}/revocations", tags=["open badges"])
    async def revocations(issuer_id: uuid.UUID) -> JSONResponse:
        async with runtime.pool.acquire() as conn:
            if await read_models.get_issuer(conn, issuer_id) is None:
                raise NotFound("issuer not found")
            revoked = await read_models.revoked_assertions(conn, issuer_id)
        return _json_ld(revocation_list(urls, issuer_id, revoked))

    @app.get("/ob/badge-classes/{badge_class_id}", tags=["open badges"])
    async def badge_class(badge_class_id: uuid.UUID) -> JSONResponse:
        return _json_ld(badge_class_document(urls, await public_badge(badge_class_id)))

    @app.get("/ob/badge-classes/{badge_class_id}/image", tags=["open badges"])
    async def badge_image(badge_class_id: uuid.UUID) -> Response:
        badge = await public_badge(badge_class_id)
        data = blobs.get(badge.image.sha256)
        if data is None:
            raise NotFound("the badge image is missing from the blob store")
        return Response(
            data,
            media_type=badge.image.media_type,
            headers={
                "Cache-Control": "public, max-age=300",
                "ETag": f'"{badge.image.sha256}"',
                **SAFE_IMAGE_HEADERS,
            },
        )

    async def load_assertion(assertion_id: uuid.UUID) -> dict[str, Any]:
        async with runtime.pool.acquire() as conn:
            found = await read_models.get_assertion_row(conn, assertion_id)
        if found is None:
            raise NotFound("assertion not found")
        return found

    @app.get("/ob/assertions/{assertion_id}", tags=["open badges"], response_model=None)
    async def assertion(assertion_id: str, request: Request) -> Response:
        """JSON-LD for verifiers; people's browsers are sent to the badge page."""
        found_id = parse_id(assertion_id)
        if found_id is not None and wants_html(request):
            return RedirectResponse(urls.badge_page(found_id), status_code=303)
        if found_id is None:
            if wants_html(request):
                return message(
                    request,
                    404,
                    "Badge not found",
                    "There is no badge at this address. Check that you copied the whole link.",
                    status_name="not_found",
                )
            raise NotFound("assertion not found")
        found = await load_assertion(found_id)
        if found["revoked"]:
            gone = _json_ld(revoked_assertion_document(urls, found))
            gone.status_code = 410
            return gone
        return _json_ld(assertion_document(urls, found))

    @app.get("/ob/assertions/{assertion_id}/baked", tags=["open badges"], response_model=None)
    async def baked(assertion_id: uuid.UUID, request: Request) -> Response:
        """The badge image with its Assertion baked in, to download and keep (410 once
        revoked: a page for a browser, JSON otherwise)."""
        found = await load_assertion(assertion_id)
        if found["revoked"]:
            reason = found["revocation_reason"]
            if not wants_html(request):
                raise Gone("this badge was revoked by its issuer: " + reason)
            return message(
                request,
                410,
                "This badge was revoked",
                f"Its issuer revoked this badge: {reason}. There is nothing to download.",
                link=urls.badge_page(assertion_id),
                link_text="See the badge's page",
                status_name="revoked",
            )
        badge = await public_badge(found["badge_class_id"])
        image = blobs.get(badge.image.sha256)
        if image is None:
            raise NotFound("the badge image is missing from the blob store")
        document = json.dumps(assertion_document(urls, found))
        if badge.image.media_type == "image/png":
            data, media_type, extension = bake_png(image, document), "image/png", "png"
        else:
            data = bake_svg(image, urls.assertion(assertion_id), document)
            media_type, extension = "image/svg+xml", "svg"
        return Response(
            data,
            media_type=media_type,
            headers={
                "Content-Disposition": f'attachment; filename="badge-{assertion_id}.{extension}"',
                **SAFE_IMAGE_HEADERS,
            },
        )

    return app
