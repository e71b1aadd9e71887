"""The badge service's HTTP face: organiser badge API and the public Open Badges documents."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.badge.adapters import read_models
from services.badge.adapters.blob_store import BlobStore
from services.badge.domain.model import BadgeClass
from services.badge.entrypoints.open_badges import (
    MEDIA_TYPE,
    OpenBadgesUrls,
    badge_class_document,
    issuer_profile,
)
from services.kernel.errors import Forbidden, NotFound
from services.kernel.http import new_app
from services.kernel.organisers import CurrentOrganiser
from services.kernel.runtime import ServiceRuntime


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
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, badge: BadgeClass, urls: OpenBadgesUrls) -> BadgeClassOut:
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
            version=badge.version,
            created_at=badge.created_at,
            updated_at=badge.updated_at,
        )


def _json_ld(document: dict[str, Any]) -> JSONResponse:
    return JSONResponse(
        document, media_type=MEDIA_TYPE, headers={"Access-Control-Allow-Origin": "*"}
    )


def build_app(runtime: ServiceRuntime, public_url: str, blobs: BlobStore) -> FastAPI:
    urls = OpenBadgesUrls(public_url)
    app = new_app(
        "Badge service",
        "Badges made from published activities and playlists, and their hosted Open Badges 2.0 "
        "documents. Organiser endpoints take `Authorization: Bearer obk_...`.",
    )
    app.state.runtime = runtime

    async def load(badge_class_id: uuid.UUID) -> BadgeClass:
        async with runtime.pool.acquire() as conn:
            badge = await read_models.get_badge_class(conn, badge_class_id)
        if badge is None:
            raise NotFound("badge not found")
        return badge

    @app.get("/v1/badges", tags=["badges"])
    async def list_badges(
        organiser: CurrentOrganiser, source_id: uuid.UUID | None = None
    ) -> list[BadgeClassOut]:
        """Your organisation's badges; `source_id` finds the badge of one activity or playlist."""
        async with runtime.pool.acquire() as conn:
            found = await read_models.list_badge_classes(conn, organiser.organisation_id, source_id)
        return [BadgeClassOut.of(badge, urls) for badge in found]

    @app.get("/v1/badges/{badge_class_id}", tags=["badges"])
    async def get_badge(badge_class_id: uuid.UUID, organiser: CurrentOrganiser) -> BadgeClassOut:
        badge = await load(badge_class_id)
        if badge.issuer_id != organiser.organisation_id:
            raise Forbidden("this badge belongs to another organisation")
        return BadgeClassOut.of(badge, urls)

    @app.get("/ob/issuers/{issuer_id}", tags=["open badges"])
    async def issuer(issuer_id: uuid.UUID) -> JSONResponse:
        async with runtime.pool.acquire() as conn:
            found = await read_models.get_issuer(conn, issuer_id)
        if found is None:
            raise NotFound("issuer not found")
        return _json_ld(issuer_profile(urls, found))

    @app.get("/ob/badge-classes/{badge_class_id}", tags=["open badges"])
    async def badge_class(badge_class_id: uuid.UUID) -> JSONResponse:
        return _json_ld(badge_class_document(urls, await load(badge_class_id)))

    @app.get("/ob/badge-classes/{badge_class_id}/image", tags=["open badges"])
    async def badge_image(badge_class_id: uuid.UUID) -> Response:
        badge = await load(badge_class_id)
        data = blobs.get(badge.image.sha256)
        if data is None:
            raise NotFound("the badge image is missing from the blob store")
        return Response(
            data,
            media_type=badge.image.media_type,
            headers={"Cache-Control": "public, max-age=300", "ETag": f'"{badge.image.sha256}"'},
        )

    return app
