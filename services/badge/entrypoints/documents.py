"""The public Open Badges 2.0 documents verifiers fetch (Issuer, revocation list, BadgeClass
and its image) and the hosted Assertions, with their baked images for learners to keep."""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from services.badge.adapters import read_models
from services.badge.adapters.baking import bake_png, bake_svg, png_in_svg
from services.badge.domain.model import BadgeClass
from services.badge.entrypoints import signed_assertions
from services.badge.entrypoints.dependencies import BadgeWeb, Web, load_badge_class
from services.badge.entrypoints.open_badges import (
    MEDIA_TYPE,
    assertion_document,
    badge_class_document,
    issuer_profile,
    revocation_list,
    revoked_assertion_document,
)
from services.badge.entrypoints.rendering import message, parse_id, wants_html
from services.kernel.errors import Gone, NotFound
from services.kernel.web.route_notes import RouteNote

# An image opened on its own must not run or load anything, whatever slipped through.
SAFE_IMAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "X-Content-Type-Options": "nosniff",
}
IMAGES = ("image/png", "image/svg+xml")
ROUTE_NOTES = {
    "GET /ob/issuers/{issuer_id}": RouteNote(media_types=(MEDIA_TYPE,)),
    "GET /ob/issuers/{issuer_id}/revocations": RouteNote(media_types=(MEDIA_TYPE,)),
    "GET /ob/badge-classes/{badge_class_id}": RouteNote(media_types=(MEDIA_TYPE,)),
    "GET /ob/badge-classes/{badge_class_id}/image": RouteNote(media_types=IMAGES),
    "GET /ob/assertions/{assertion_id}": RouteNote(media_types=(MEDIA_TYPE,)),
    "GET /ob/assertions/{assertion_id}/baked": RouteNote(media_types=IMAGES),
}


router = APIRouter(tags=["open badges"])


def _json_ld(document: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        document, media_type=MEDIA_TYPE, headers={"Access-Control-Allow-Origin": "*"}
    )


async def _public_badge(web: BadgeWeb, badge_class_id: uuid.UUID) -> BadgeClass:
    badge = await load_badge_class(web, badge_class_id)
    if badge is None:
        raise NotFound("badge not found")
    return badge


async def _assertion(web: BadgeWeb, assertion_id: uuid.UUID) -> dict[str, Any]:
    async with web.runtime.pool.acquire() as conn:
        found = await read_models.get_assertion_row(conn, assertion_id)
    if found is None:
        raise NotFound("assertion not found")
    return found


@router.get("/ob/issuers/{issuer_id}")
async def issuer(issuer_id: uuid.UUID, web: Web) -> JSONResponse:
    async with web.runtime.pool.acquire() as conn:
        found = await read_models.get_issuer(conn, issuer_id)
    if found is None:
        raise NotFound("issuer not found")
    signed = await signed_assertions.issuer_public_key(web, issuer_id)
    return _json_ld({**issuer_profile(web.urls, found), **signed})


@router.get("/ob/issuers/{issuer_id}/revocations")
async def revocations(issuer_id: uuid.UUID, web: Web) -> JSONResponse:
    async with web.runtime.pool.acquire() as conn:
        if await read_models.get_issuer(conn, issuer_id) is None:
            raise NotFound("issuer not found")
        revoked = await read_models.revoked_assertions(conn, issuer_id)
    return _json_ld(revocation_list(web.urls, issuer_id, revoked))


@router.get("/ob/badge-classes/{badge_class_id}")
async def badge_class(badge_class_id: uuid.UUID, web: Web) -> JSONResponse:
    return _json_ld(badge_class_document(web.urls, await _public_badge(web, badge_class_id)))


@router.get("/ob/badge-classes/{badge_class_id}/image")
async def badge_image(badge_class_id: uuid.UUID, web: Web) -> Response:
    badge = await _public_badge(web, badge_class_id)
    data = web.blobs.get(badge.image.sha256)
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


@router.get("/ob/assertions/{assertion_id}", response_model=None)
async def assertion(assertion_id: str, request: Request, web: Web) -> Response:
    """JSON-LD for verifiers; people's browsers are sent to the badge page."""
    found_id = parse_id(assertion_id)
    if found_id is not None and wants_html(request):
        return RedirectResponse(web.urls.badge_page(found_id), status_code=303)
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
    found = await _assertion(web, found_id)
    if found["revoked"]:
        gone = _json_ld(revoked_assertion_document(web.urls, found))
        gone.status_code = 410
        return gone
    return _json_ld(assertion_document(web.urls, found))


@router.get("/ob/assertions/{assertion_id}/baked", response_model=None)
async def baked(
    assertion_id: uuid.UUID,
    request: Request,
    web: Web,
    format: Literal["png", "svg"] | None = None,
) -> Response:
    """The badge image with its Assertion baked in, to download and keep (410 once
    revoked: a page for a browser, JSON otherwise). `format=svg` of a PNG badge is an SVG
    holding the PNG, baked as an SVG; an SVG badge comes as SVG only (`format=png`: 404)."""
    urls = web.urls
    found = await _assertion(web, assertion_id)
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
    badge = await _public_badge(web, found["badge_class_id"])
    image = web.blobs.get(badge.image.sha256)
    if image is None:
        raise NotFound("the badge image is missing from the blob store")
    document = json.dumps(assertion_document(urls, found))
    if badge.image.media_type == "image/png" and format == "svg":
        data = bake_svg(png_in_svg(image), urls.assertion(assertion_id), document)
        media_type, extension = "image/svg+xml", "svg"
    elif badge.image.media_type == "image/png":
        data, media_type, extension = bake_png(image, document), "image/png", "png"
    elif format == "png":
        raise NotFound("this badge's image is an SVG: download it as SVG")
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
