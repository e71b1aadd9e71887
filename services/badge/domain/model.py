"""Badges, offers, claims and assertions: what may happen to them, decided from their state.

One badge class is made for each published activity and playlist, once. A published activity
edited again keeps its badge as it was: the badge is a snapshot of the first publication.
Issued Assertions point at the BadgeClass, so its meaning must not drift under badges already
earned; organisers change the badge itself, deliberately, through the badge API.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from contracts import Envelope, derived_id
from contracts.activity import ActivityPublished, PlaylistPublished
from contracts.badge import (
    BadgeAwarded,
    BadgeClassCreated,
    BadgeClassEdited,
    BadgeOffered,
    BlobRef,
    ClaimRejected,
    ClaimRequested,
    EvidenceItem,
    EvidenceMode,
    EvidenceTask,
    OpenLink,
)
from contracts.envelope import NAMESPACE
from services.kernel.errors import Conflict

OFFER_VALID_DAYS = 90


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
    created_at: datetime
    updated_at: datetime
    expires_after_days: int | None = None
    evidence_mode: EvidenceMode = "none"
    open_link: OpenLink = field(default_factory=OpenLink)
    open_link_generation: int = 1
    open_link_claims: int = 0
    tasks: tuple[EvidenceTask, ...] = ()
    peer_approvals: int = 1


@dataclass(frozen=True)
class Offer:
    offer_id: uuid.UUID
    badge_class_id: uuid.UUID
    recipient_email: str
    via: Literal["email", "open_link"]
    expires_at: datetime
    assertion_id: uuid.UUID | None = None
    open_link_generation: int | None = None


@dataclass(frozen=True)
class Assertion:
    assertion_id: uuid.UUID
    badge_class_id: uuid.UUID
    recipient_email: str
    revoked: bool


def normalise_email(email: str) -> str:
    return email.strip().lower()


def badge_class_id_for(source_id: uuid.UUID) -> uuid.UUID:
    """One badge per activity or playlist: its id follows from the source's id."""
    return uuid.uuid5(NAMESPACE, f"badge-class:{source_id}")


# -- a badge from a published activity or playlist -------------------------------------------


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


# -- editing -------------------------------------------------------------------------------


def edit_badge(badge: BadgeClass, changes: dict[str, Any]) -> BadgeClassEdited | None:
    """The badge's settings with `changes` applied; None when nothing changes."""
    current = {
        "name": badge.name,
        "description": badge.description,
        "criteria_narrative": badge.criteria_narrative,
        "image": badge.image,
        "expires_after_days": badge.expires_after_days,
        "evidence_mode": badge.evidence_mode,
        "open_link": badge.open_link,
        "tasks": badge.tasks,
        "peer_approvals": badge.peer_approvals,
    }
    updated = current | changes
    if updated["evidence_mode"] != "none" and not updated["tasks"]:
        raise Conflict("a badge that asks for evidence needs at least one task")
    if updated == current:
        return None
    return BadgeClassEdited(badge_class_id=badge.badge_class_id, **updated)


# -- offering and claiming -----------------------------------------------------------------


def offer_badge(
    badge: BadgeClass,
    *,
    offer_id: uuid.UUID,
    email: str,
    via: Literal["email", "open_link"],
    now: datetime,
    issuer_name: str,
    open_link_generation: int | None = None,
) -> BadgeOffered:
    return BadgeOffered(
        open_link_generation=open_link_generation,
        offer_id=offer_id,
        badge_class_id=badge.badge_class_id,
        issuer_id=badge.issuer_id,
        recipient_email=normalise_email(email),
        via=via,
        expires_at=now + timedelta(days=OFFER_VALID_DAYS),
        badge_name=badge.name,
        badge_description=badge.description,
        issuer_name=issuer_name,
    )


def check_open_link(badge: BadgeClass, generation: int, now: datetime) -> None:
    """Refuses an open link that no longer works; says why, in the learner's words."""
    if generation != badge.open_link_generation or not badge.open_link.enabled:
        raise Conflict("This link no longer works; ask the organiser for a new one.")
    if badge.open_link.valid_until is not None and now > badge.open_link.valid_until:
        raise Conflict("This link has expired.")
    if (
        badge.open_link.max_claims is not None
        and badge.open_link_claims >= badge.open_link.max_claims
    ):
        raise Conflict("This badge has been claimed as many times as the organiser allowed.")


def outcome_id(request: Envelope[Any]) -> uuid.UUID:
    """One outcome per claim request, award or rejection: its id follows from the request."""
    return derived_id(request.event_id, "ClaimOutcome")


def recipient_salt(assertion_id: uuid.UUID) -> str:
    # Public in the Assertion anyway; derived so a decision made again is identical.
    return hashlib.sha256(f"salt:{assertion_id}".encode()).hexdigest()[:32]


def recipient_identity(email: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((normalise_email(email) + salt).encode()).hexdigest()


def decide_claim(
    badge: BadgeClass,
    offer: Offer,
    request: Envelope[Any],
    already_held: bool,
    issuer_name: str,
) -> BadgeAwarded | ClaimRejected:
    """Decided by the badge's processor in log order: the first Accept of a link wins."""
    claim: ClaimRequested = request.payload
    at = request.occurred_at

    def reject(reason: Any) -> ClaimRejected:
        return ClaimRejected(offer_id=offer.offer_id, request_id=claim.request_id, reason=reason)

    if offer.assertion_id is not None or already_held:
        return reject("already_claimed")
    if at > offer.expires_at:
        return reject("expired")
    if badge.evidence_mode != "none":
        return reject("evidence_required")
    if offer.via == "open_link":
        link = badge.open_link
        # A regenerated link (perhaps it leaked) takes the offers it gave out with it.
        if not link.enabled or offer.open_link_generation != badge.open_link_generation:
            return reject("revoked")
        if link.valid_until is not None and at > link.valid_until:
            return reject("expired")
        if link.max_claims is not None and badge.open_link_claims >= link.max_claims:
            return reject("limit_reached")
    awarded = award(
        badge, outcome_id(request), offer.recipient_email, at, issuer_name, offer.offer_id
    )
    return awarded.model_copy(update={"request_id": claim.request_id})


def award(
    badge: BadgeClass,
    assertion_id: uuid.UUID,
    email: str,
    at: datetime,
    issuer_name: str,
    offer_id: uuid.UUID | None = None,
    reason: Literal["claim", "playlist", "evidence"] = "claim",
    evidence: tuple[EvidenceItem, ...] = (),
) -> BadgeAwarded:
    expires = at + timedelta(days=badge.expires_after_days) if badge.expires_after_days else None
    return BadgeAwarded(
        assertion_id=assertion_id,
        badge_class_id=badge.badge_class_id,
        issuer_id=badge.issuer_id,
        offer_id=offer_id,
        reason=reason,
        recipient_email=normalise_email(email),
        recipient_salt=recipient_salt(assertion_id),
        issued_on=at,
        expires=expires,
        badge_name=badge.name,
        issuer_name=issuer_name,
        evidence=evidence,
    )


def playlist_assertion_id(playlist_badge_id: uuid.UUID, email: str) -> uuid.UUID:
    """At most one playlist badge per learner: its id follows from the two."""
    return uuid.uuid5(NAMESPACE, f"playlist-award:{playlist_badge_id}:{normalise_email(email)}")


def playlist_completed(playlist: BadgeClass, held_activity_ids: set[uuid.UUID]) -> bool:
    return (
        bool(playlist.required_activity_ids)
        and set(playlist.required_activity_ids) <= held_activity_ids
    )


# -- state -----------------------------------------------------------------------------------


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
            created_at=envelope.occurred_at,
            updated_at=envelope.occurred_at,
        )
    if state is None:
        raise ValueError(f"{envelope.event_type} for a badge that does not exist")
    if isinstance(event, BadgeClassEdited):
        return BadgeClass(
            **{
                **vars(state),
                "name": event.name,
                "description": event.description,
                "criteria_narrative": event.criteria_narrative,
                "image": event.image,
                "expires_after_days": event.expires_after_days,
                "evidence_mode": event.evidence_mode,
                "open_link": event.open_link,
                "tasks": tuple(event.tasks),
                "peer_approvals": event.peer_approvals,
                "updated_at": envelope.occurred_at,
            }
        )
    raise ValueError(f"not a badge class event: {envelope.event_type}")
