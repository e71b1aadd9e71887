"""Badges, offers, claims and assertions: what may happen to them, decided from their state.

One badge class is made for each published activity and playlist, once. A published activity
edited again keeps its badge as it was: the badge is a snapshot of the first publication.
Issued Assertions point at the BadgeClass, so its meaning must not drift under badges already
earned; organisers change the badge itself, deliberately, through the badge API.

Open links (a URL or QR code anyone holding it can use) by kind of badge:

- An activity badge's open link is on, unlimited, from the start. It is how an organiser issues
  at the activity itself (a QR code on the wall), the link is known only to the organiser until
  they share it, every claim proves its email address first, and an activity badge says that
  its holder took part, which the organiser vouches for by sharing the link there. They can
  limit it (`max_claims`, `valid_until`), turn it off, or regenerate it when it leaks.
- A playlist badge is earned by holding the badges of all its activities, which no link can
  prove: it has no open link. Turning one on is refused, and a claim through one recorded
  under earlier rules is refused when it is decided, whatever the log says.
"""

from __future__ import annotations

import hashlib
import hmac
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


# -- open links ----------------------------------------------------------------------------


def open_link_allowed(badge: BadgeClass) -> bool:
    """Only an activity badge can be claimed through an open link (see the module's docs)."""
    return badge.source_kind == "activity"


def allowed_open_link(badge: BadgeClass, link: OpenLink) -> OpenLink:
    # Settings recorded before the rule keep what they may: a playlist badge's link stays off.
    return link if open_link_allowed(badge) else link.model_copy(update={"enabled": False})


EARNED_ONLY = (
    "A playlist's badge is earned by holding the badges of all its activities; "
    "it cannot be claimed through an open link."
)


class OpenLinkRefused(Conflict):
    """An open link that gives nothing now, with the reason learners are shown."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def check_open_link(badge: BadgeClass, generation: int, now: datetime) -> None:
    """Refuses an open link that no longer works; says why, in the learner's words."""
    if not open_link_allowed(badge):
        raise OpenLinkRefused("earned_only", EARNED_ONLY)
    if generation != badge.open_link_generation or not badge.open_link.enabled:
        raise OpenLinkRefused(
            "revoked", "This link no longer works; ask the organiser for a new one."
        )
    if badge.open_link.valid_until is not None and now > badge.open_link.valid_until:
        raise OpenLinkRefused("expired", "This link has expired.")


def check_open_link_room(badge: BadgeClass, taken: int) -> None:
    """Refuses to give out more than `max_claims`: `taken` counts the badges claimed through
    the link and the personal links it mailed that can still be accepted. Each learner who gets
    a personal link from the open link has a badge kept for them, so none is let down later."""
    limit = badge.open_link.max_claims
    if limit is not None and taken >= limit:
        raise OpenLinkRefused(
            "limit_reached",
            "This badge has been claimed as many times as the organiser allowed, so no more "
            "can be given through this link. Ask the organiser if you think you should have one.",
        )


# -- editing -------------------------------------------------------------------------------


def edit_badge(badge: BadgeClass, changes: dict[str, Any]) -> BadgeClassEdited | None:
    """The badge's settings with `changes` applied; None when nothing changes."""
    current: dict[str, Any] = {
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
    if "open_link" in changes and changes["open_link"].enabled and not open_link_allowed(badge):
        raise Conflict(EARNED_ONLY)
    updated["open_link"] = allowed_open_link(badge, updated["open_link"])
    if updated["evidence_mode"] != "none" and not updated["tasks"]:
        raise Conflict("a badge that asks for evidence needs at least one task")
    if updated == current:
        return None
    return BadgeClassEdited(badge_class_id=badge.badge_class_id, **updated)


# -- offering and claiming -----------------------------------------------------------------


class OfferIds:
    """Ids of offers issued to emails. A retried request (the same idempotency key) must find
    the offers it made, so their ids follow from the key and the address; under a server
    secret, so nobody outside can compute an offer's id (or its quest's) from an address."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(("offer-ids:" + secret).encode()).digest()

    def for_issue(self, badge_class_id: uuid.UUID, idempotency_key: str, email: str) -> uuid.UUID:
        text = f"{badge_class_id}:{idempotency_key}:{normalise_email(email)}".encode()
        digest = hmac.new(self._key, text, hashlib.sha256).digest()
        return uuid.UUID(bytes=digest[:16], version=5)


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


def outcome_id(request: Envelope[Any]) -> uuid.UUID:
    """One outcome per claim request, award or rejection: its id follows from the request."""
    return derived_id(request.event_id, "ClaimOutcome")


def recipient_salt(assertion_id: uuid.UUID) -> str:
    # Public in the Assertion anyway; derived so a decision made again is identical.
    return hashlib.sha256(f"salt:{assertion_id}".encode()).hexdigest()[:32]


def recipient_identity(email: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((normalise_email(email) + salt).encode()).hexdigest()


ClaimRefusal = Literal[
    "already_claimed", "expired", "revoked", "limit_reached", "evidence_required"
]


def claim_refusal(
    badge: BadgeClass, offer: Offer, at: datetime, already_held: bool
) -> ClaimRefusal | None:
    """Why Accept on this offer gives no badge at `at`, or None when it does. The claim page
    asks this before it shows Accept, and the processor when it decides."""
    if offer.assertion_id is not None or already_held:
        return "already_claimed"
    if at > offer.expires_at:
        return "expired"
    if badge.evidence_mode != "none":
        return "evidence_required"
    if offer.via == "open_link":
        link = badge.open_link
        # A regenerated link (perhaps it leaked) takes the offers it gave out with it; a
        # playlist badge's link gives nothing, whatever an old log recorded for it.
        if (
            not open_link_allowed(badge)
            or not link.enabled
            or offer.open_link_generation != badge.open_link_generation
        ):
            return "revoked"
        if link.valid_until is not None and at > link.valid_until:
            return "expired"
        if link.max_claims is not None and badge.open_link_claims >= link.max_claims:
            return "limit_reached"
    return None


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

    refusal = claim_refusal(badge, offer, at, already_held)
    if refusal is not None:
        return reject(refusal)
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


def playlist_assertion_id(
    cause: Envelope[Any], playlist_badge_id: uuid.UUID, email: str
) -> uuid.UUID:
    """The id of a playlist badge awarded on `cause` (the award that completed the playlist,
    or the playlist's new badge). Public, so it follows from an id nobody outside sees, the
    event that caused the cause (a claim request, a completed quest, a published playlist),
    and is the same when the cause is handled again."""
    seed = cause.causation_id or cause.event_id
    return derived_id(seed, f"playlist-award:{playlist_badge_id}:{normalise_email(email)}")


def legacy_playlist_assertion_id(playlist_badge_id: uuid.UUID, email: str) -> uuid.UUID:
    """How playlist awards were numbered before (from the email alone): a log that holds one
    keeps it, and the award is not made again under the new id when that log is replayed."""
    return uuid.uuid5(NAMESPACE, f"playlist-award:{playlist_badge_id}:{normalise_email(email)}")


def peer_review_warnings(badge: BadgeClass, holders: int, invited_reviewers: int) -> list[str]:
    """What an organiser should know when saving a badge whose evidence nobody can review."""
    if badge.evidence_mode != "peer" or holders or invited_reviewers:
        return []
    return [
        "No one can review evidence for this badge yet: it has no holders and no invited peer "
        "reviewers. Invite reviewers with POST /v1/badges/{id}/peer-reviewers; until someone "
        "can, submissions go to your organisation's review queue.".replace(
            "{id}", str(badge.badge_class_id)
        )
    ]


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
            open_link=OpenLink(enabled=event.source_kind == "activity"),
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
                "open_link": allowed_open_link(state, event.open_link),
                "tasks": tuple(event.tasks),
                "peer_approvals": event.peer_approvals,
                "updated_at": envelope.occurred_at,
            }
        )
    raise ValueError(f"not a badge class event: {envelope.event_type}")
