"""What the badge service's routes are given: its runtime and web settings (set once by the
composition root), and the one ownership check every organiser route goes through."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from contracts.tokens import ClaimTokens
from services.badge.adapters import read_models
from services.badge.adapters.credential_signing import CredentialSigner
from services.badge.domain.model import BadgeClass, OfferIds, check_owner
from services.badge.entrypoints.open_badges import OpenBadgesUrls
from services.kernel.blob_store import BlobStore
from services.kernel.runtime import ServiceRuntime
from services.organiser_access import CurrentOrganiser, Organiser


@dataclass(frozen=True)
class BadgeWeb:
    runtime: ServiceRuntime
    urls: OpenBadgesUrls
    blobs: BlobStore
    tokens: ClaimTokens
    offer_ids: OfferIds
    # Where learners do evidence quests (the evidence service).
    evidence_public_url: str
    # Signs Open Badges 3.0 documents (entrypoints/credentials.py); None: not offered.
    credentials: CredentialSigner | None = None
    # Set when a bulk issue is accepted, so the worker (entrypoints/bulk_issues.py) starts it
    # at once rather than at its next look.
    bulk_issue_waiting: asyncio.Event = field(default_factory=asyncio.Event)

    def bulk_issues_accepted(self) -> None:
        self.bulk_issue_waiting.set()


def _web(request: Request) -> BadgeWeb:
    web: BadgeWeb = request.app.state.web
    return web


Web = Annotated[BadgeWeb, Depends(_web)]


async def load_badge_class(web: BadgeWeb, badge_class_id: uuid.UUID) -> BadgeClass | None:
    async with web.runtime.pool.acquire() as conn:
        return await read_models.get_badge_class(conn, badge_class_id)


async def owned(web: BadgeWeb, organiser: Organiser, badge_class_id: uuid.UUID) -> BadgeClass:
    """The organiser's own badge, else 404 (no such badge) or 403 (another organisation's)."""
    return check_owner(await load_badge_class(web, badge_class_id), organiser.organisation_id)


async def _owned_badge(
    badge_class_id: uuid.UUID, organiser: CurrentOrganiser, web: Web
) -> BadgeClass:
    return await owned(web, organiser, badge_class_id)


# For routes that read a badge: checked before the route runs.
OwnedBadge = Annotated[BadgeClass, Depends(_owned_badge)]
