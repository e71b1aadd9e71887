"""Events of the badge service, on topic `badge.events`: badge classes, offers, claims,
awards, revocations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import Event, register

TOPIC = "badge.events"


class BadgeEvent(Event):
    topic: ClassVar[str] = TOPIC


class BlobRef(BaseModel):
    """A file in the content-addressed blob store: events carry its address, never its bytes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1)
    media_type: Literal["image/png", "image/svg+xml"]


class BadgeClassCreated(BadgeEvent):
    badge_class_id: uuid.UUID
    issuer_id: uuid.UUID = Field(description="The organisation that issues it.")
    source_kind: Literal["activity", "playlist"]
    source_id: uuid.UUID = Field(description="The activity or playlist it was made from.")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(max_length=10_000)
    criteria_narrative: str = Field(max_length=10_000)
    image: BlobRef
    required_activity_ids: tuple[uuid.UUID, ...] = Field(
        default=(), description="For a playlist badge: the activities whose badges earn it."
    )


class BadgeClassEdited(BadgeEvent):
    badge_class_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(max_length=10_000)
    criteria_narrative: str = Field(max_length=10_000)
    image: BlobRef
    expires_after_days: int | None = Field(default=None, ge=1, le=36_500)
    evidence_mode: Literal["none", "self", "peer", "organiser"] = "none"


class BadgeOffered(BadgeEvent):
    """A personal claim link was made for one email address; the notifier mails it."""

    offer_id: uuid.UUID
    badge_class_id: uuid.UUID
    issuer_id: uuid.UUID
    recipient_email: str = Field(max_length=320)
    token_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    expires_at: datetime


class ClaimRequested(BadgeEvent):
    offer_id: uuid.UUID
    badge_class_id: uuid.UUID
    request_id: uuid.UUID


class BadgeAwarded(BadgeEvent):
    assertion_id: uuid.UUID
    badge_class_id: uuid.UUID
    issuer_id: uuid.UUID
    offer_id: uuid.UUID | None = None
    recipient_email: str = Field(max_length=320)
    recipient_salt: str = Field(max_length=64)
    issued_on: datetime
    expires: datetime | None = None


class ClaimRejected(BadgeEvent):
    offer_id: uuid.UUID
    request_id: uuid.UUID
    reason: Literal["already_claimed", "expired", "revoked", "limit_reached"]


class AssertionRevoked(BadgeEvent):
    assertion_id: uuid.UUID
    badge_class_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=1_000)


register(
    BadgeClassCreated,
    BadgeClassEdited,
    BadgeOffered,
    ClaimRequested,
    BadgeAwarded,
    ClaimRejected,
    AssertionRevoked,
)
