"""Organiser API: how far each of the organisation's badges has gone, in one read (the
organiser console's dashboard shows it beside every activity and playlist)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from pydantic import BaseModel, Field

from services.badge.entrypoints.dependencies import Web
from services.organiser_access import CurrentOrganiser

router = APIRouter()


class BadgeCounts(BaseModel):
    badge_class_id: uuid.UUID
    source_id: uuid.UUID = Field(description="The activity or playlist the badge is made from.")
    offered: int = Field(description="Offers made (emails, lists, CSV rows, open-link claims).")
    claimed: int = Field(description="Badges awarded and not revoked.")


@router.get("/v1/badge-counts", tags=["badges"])
async def badge_counts(organiser: CurrentOrganiser, web: Web) -> list[BadgeCounts]:
    """Every badge of your organisation with its offers and awards counted."""
    async with web.runtime.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT b.badge_class_id, b.source_id, "
            "(SELECT count(*) FROM offers o WHERE o.badge_class_id = b.badge_class_id) "
            "AS offered, "
            "(SELECT count(*) FROM assertions a WHERE a.badge_class_id = b.badge_class_id "
            "AND NOT a.revoked) AS claimed "
            "FROM badge_classes b WHERE b.issuer_id = $1 ORDER BY b.created_at, b.badge_class_id",
            organiser.organisation_id,
        )
    return [BadgeCounts(**dict(row)) for row in rows]
