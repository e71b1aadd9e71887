"""Badge classes: one is made for each published activity and playlist, once.

Policy for a published activity edited again: its badge is a snapshot of the activity at first
publication and does not follow later edits. Issued Assertions point at the BadgeClass, so its
name and criteria must not change meaning under badges already earned; organisers change the
badge itself, deliberately, through the badge API.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from contracts import Envelope, derived_id
from contracts.activity import ActivityPublished, PlaylistPublished
from contracts.badge import BadgeClassCreated, BlobRef
from contracts.envelope import NAMESPACE


@dataclass(frozen=True)
class BadgeClass:
    badge_class_id: uuid.UUID
    issuer_id: uuid.UUID
    source_kind: Literal["activity", "playlist"]
    source_id: uuid.UUID
    name: str
    description: str
    criteria_narrative: str
    image: BlobRef
    required_activity_ids: tuple[uuid.UUID, ...]
    version: int
    created_at: datetime
    updated_at: datetime


def badge_class_id_for(source_id: uuid.UUID) -> uuid.UUID:
    """One badge per activity or playlist: its id follows from the source's id."""
    return uuid.uuid5(NAMESPACE, f"badge-class:{source_id}")


def criteria_for_activity(event: ActivityPublished) -> str:
    return event.criteria.strip() or f"Take part in the activity “{event.title}”."


def criteria_for_playlist(event: PlaylistPublished) -> str:
    count = len(event.activity_ids)
    rule = f"Earn the badge of each of the {count} activities in the playlist “{event.title}”."
    return f"{event.description.strip()}\n\n{rule}".strip()


def decide_badge_for_source(
    existing: BadgeClass | None, cause: Envelope[Any], image: BlobRef
) -> list[BadgeClassCreated]:
    """The badge of a just-published activity or playlist, unless it already has one."""
    if existing is not None:
        return []
    event = cause.payload
    if isinstance(event, ActivityPublished):
        return [
            BadgeClassCreated(
                badge_class_id=badge_class_id_for(event.activity_id),
                issuer_id=event.organisation_id,
                source_kind="activity",
                source_id=event.activity_id,
                name=event.title,
                description=event.description,
                criteria_narrative=criteria_for_activity(event),
                image=image,
            )
        ]
    if isinstance(event, PlaylistPublished):
        return [
            BadgeClassCreated(
                badge_class_id=badge_class_id_for(event.playlist_id),
                issuer_id=event.organisation_id,
                source_kind="playlist",
                source_id=event.playlist_id,
                name=event.title,
                description=event.description,
                criteria_narrative=criteria_for_playlist(event),
                image=image,
                required_activity_ids=event.activity_ids,
            )
        ]
    raise ValueError(f"no badge is made from {cause.event_type}")


def created_event_id(cause: Envelope[Any]) -> uuid.UUID:
    return derived_id(cause.event_id, "BadgeClassCreated")


def evolve(state: BadgeClass | None, envelope: Envelope[Any]) -> BadgeClass:
    event = envelope.payload
    if isinstance(event, BadgeClassCreated):
        return BadgeClass(
            badge_class_id=event.badge_class_id,
            issuer_id=event.issuer_id,
            source_kind=event.source_kind,
            source_id=event.source_id,
            name=event.name,
            description=event.description,
            criteria_narrative=event.criteria_narrative,
            image=event.image,
            required_activity_ids=tuple(event.required_activity_ids),
            version=envelope.stream_version,
            created_at=envelope.occurred_at,
            updated_at=envelope.occurred_at,
        )
    raise ValueError(f"not a badge class event: {envelope.event_type}")
