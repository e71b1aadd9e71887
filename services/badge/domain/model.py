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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from contracts import Envelope, derived_id
from contracts.activity import ActivityPublished, PlaylistArchived, PlaylistPublished
from contracts.badge import (
    AssertionRevoked,
    BadgeAwarded,
    BadgeClassCreated,
    BadgeClassEdited,
    BadgeIssuingClosed,
    BadgeOffered,
    BlobRef,
    BulkIssueFinished,
    BulkIssueRequested,
    ClaimRejected,
    ClaimRequested,
    EvidenceItem,
    EvidenceMode,
    EvidenceTask,
    HeldBadgeRequested,
    OfferResendRequested,
    OpenLink,
    OpenLinkRegenerated,
    PeerReviewerInvited,
)
from contracts.envelope import NAMESPACE
from contracts.evidence import QuestCompleted
from services.kernel.errors import Conflict, Forbidden, NotFound

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
    # Set once its playlist is archived (BadgeIssuingClosed): issued to nobody new after.
    issuing_closed_at: datetime | None = None


EmailStatus = Literal["pending", "sent", "failed", "retrying", "resending"]


@dataclass(frozen=True)
class Offer:
    offer_id: uuid.UUID
    badge_class_id: uuid.UUID
    recipient_email: str
    via: Literal["email", "open_link"]
    expires_at: datetime
    assertion_id: uuid.UUID | None = None
    open_link_generation: int | None = None
    # The notifier's word on its email (its events), or `resending` once a resend is asked.
    email_status: EmailStatus = "pending"


@dataclass(frozen=True)
class Assertion:
    assertion_id: uuid.UUID
    badge_class_id: uuid.UUID
    recipient_email: str
    revoked: bool
    issued_on: datetime | None = None


@dataclass(frozen=True)
class Claim:
    """One press of Accept on an offer, and what the processor decided on it."""

    request_id: uuid.UUID
    offer_id: uuid.UUID
    outcome: Literal["pending", "awarded", "rejected"] = "pending"
    reason: str | None = None
    assertion_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Badge:
    """The aggregate: a badge class and everything decided on its stream (offers, claims,
    assertions, invited reviewers, holders told they hold it). Every event of the badge
    service is keyed by the badge class id, so this is the whole of what its rules read."""

    badge_class: BadgeClass
    offers: Mapping[uuid.UUID, Offer] = field(default_factory=dict)
    claims: Mapping[uuid.UUID, Claim] = field(default_factory=dict)
    assertions: Mapping[uuid.UUID, Assertion] = field(default_factory=dict)
    peer_reviewers: frozenset[str] = frozenset()
    # (open link generation, address) of each holder told through the open link.
    holder_notices: frozenset[tuple[int, str]] = frozenset()

    def holds(self, email: str) -> bool:
        return self.held_assertion_id(email) is not None

    def held_assertion_id(self, email: str) -> uuid.UUID | None:
        """The recipient's earliest badge of this class that is not revoked."""
        held = [
            a
            for a in self.assertions.values()
            if a.recipient_email == normalise_email(email) and not a.revoked
        ]
        held.sort(key=lambda a: (a.issued_on or datetime.min, a.assertion_id))
        return held[0].assertion_id if held else None

    def open_link_history(self, generation: int, email: str, now: datetime) -> OpenLinkHistory:
        email = normalise_email(email)
        return OpenLinkHistory(
            already_offered=any(
                o.via == "open_link"
                and o.open_link_generation == generation
                and o.recipient_email == email
                for o in self.offers.values()
            ),
            taken=self.badge_class.open_link_claims
            + sum(
                1
                for o in self.offers.values()
                if o.via == "open_link"
                and o.open_link_generation == self.badge_class.open_link_generation
                and o.assertion_id is None
                and o.expires_at > now
            ),
            held_assertion_id=self.held_assertion_id(email),
            holder_notified=(generation, email) in self.holder_notices,
        )


def normalise_email(email: str) -> str:
    """How an address is compared, stored and hashed: trimmed and lower-cased."""
    return email.strip().lower()


def check_owner(
    badge: BadgeClass | None, organisation_id: uuid.UUID, what: str = "badge"
) -> BadgeClass:
    """An organiser acts only on their own organisation's badges (and their offers: `what`
    names the thing asked for in the refusal)."""
    if badge is None:
        raise NotFound(f"{what} not found")
    if badge.issuer_id != organisation_id:
        raise Forbidden(f"this {what} belongs to another organisation")
    return badge


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
    existing: BadgeClass | None,
    cause: Envelope[ActivityPublished] | Envelope[PlaylistPublished],
    image: BlobRef,
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


ISSUING_CLOSED = (
    "This badge is no longer issued: its playlist was archived. The badges already awarded "
    "stay valid and can still be revoked."
)


def decide_close_issuing(badge: BadgeClass | None) -> list[BadgeIssuingClosed]:
    """An archived playlist's badge is issued to nobody new; once, and only if it has one (a
    playlist archived before it was ever published has no badge)."""
    if badge is None or badge.issuing_closed_at is not None:
        return []
    return [BadgeIssuingClosed(badge_class_id=badge.badge_class_id)]


def close_issuing_event_id(cause: Envelope[PlaylistArchived]) -> uuid.UUID:
    return derived_id(cause.event_id, "BadgeIssuingClosed")


def check_issuing_open(badge: BadgeClass) -> None:
    """Every new offer (one, a list, a bulk issue) is refused once issuing is closed."""
    if badge.issuing_closed_at is not None:
        raise Conflict(ISSUING_CLOSED)


def created_event_id(cause: Envelope[Any]) -> uuid.UUID:
    """The badge of a source is created once, whatever the redeliveries of its publication."""
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


@dataclass(frozen=True)
class OpenLinkHistory:
    """What the open link already did for one address, as the open-link rules need it."""

    already_offered: bool  # this generation of the link mailed it a personal link
    taken: int  # badges claimed through the link, and its personal links still open
    held_assertion_id: uuid.UUID | None  # the address holds the badge already
    holder_notified: bool  # and was told so by this generation of the link


def decide_open_link_request(
    badge: BadgeClass,
    history: OpenLinkHistory,
    *,
    generation: int,
    email: str,
    now: datetime,
    offer_id: uuid.UUID,
    issuer_name: str,
) -> list[BadgeOffered | HeldBadgeRequested]:
    """Someone with the open link asks for the badge: a personal link goes to their email,
    which proves the address before anything is awarded.

    Whoever asks gets the same answer (a link is on its way), so the link tells nobody who
    holds the badge: a holder is mailed that they hold it instead of a claim link. One offer
    (or one notice) per address and link: asking again mails nobody again.
    """
    email = normalise_email(email)
    check_open_link(badge, generation, now)
    if history.already_offered:
        return []
    check_open_link_room(badge, history.taken)
    if history.held_assertion_id is not None:
        if history.holder_notified:
            return []
        return [
            HeldBadgeRequested(
                badge_class_id=badge.badge_class_id,
                issuer_id=badge.issuer_id,
                assertion_id=history.held_assertion_id,
                recipient_email=email,
                open_link_generation=generation,
                badge_name=badge.name,
                issuer_name=issuer_name,
            )
        ]
    return [
        offer_badge(
            badge,
            offer_id=offer_id,
            email=email,
            via="open_link",
            now=now,
            issuer_name=issuer_name,
            open_link_generation=generation,
        )
    ]


def decide_regenerate(badge: BadgeClass) -> list[OpenLinkRegenerated]:
    """A new generation of the open link; the links of earlier ones stop working."""
    if not open_link_allowed(badge):
        raise Conflict(EARNED_ONLY)
    return [
        OpenLinkRegenerated(
            badge_class_id=badge.badge_class_id, generation=badge.open_link_generation + 1
        )
    ]


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
    check_issuing_open(badge)
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


def decide_offers(
    badge: BadgeClass,
    planned: list[tuple[uuid.UUID, str]],
    existing: set[uuid.UUID],
    *,
    now: datetime,
    issuer_name: str,
) -> list[BadgeOffered]:
    """One offer per (offer id, address) planned, except those already made: a retried issue
    (the same idempotency key, so the same ids) makes none twice, and a closed badge refuses
    only new ones (`offer_badge`): a retry of an issue made before the close still answers."""
    return [
        offer_badge(
            badge, offer_id=offer_id, email=email, via="email", now=now, issuer_name=issuer_name
        )
        for offer_id, email in planned
        if offer_id not in existing
    ]


def decide_resend(offer: Offer, now: datetime) -> list[OfferResendRequested]:
    """Only a failed email is sent again, and only while its link can still be used."""
    if offer.assertion_id is not None:
        raise Conflict("this offer was claimed already; there is nothing to resend")
    if offer.expires_at <= now:
        raise Conflict("this offer has expired; make a new offer to the address instead")
    if offer.email_status != "failed":
        raise Conflict(
            f"this offer's email is {offer.email_status}: only a failed email is sent again"
        )
    return [OfferResendRequested(offer_id=offer.offer_id, badge_class_id=offer.badge_class_id)]


def decide_peer_invites(badge: BadgeClass, emails: list[str]) -> list[PeerReviewerInvited]:
    return [PeerReviewerInvited(badge_class_id=badge.badge_class_id, email=e) for e in emails]


def decide_revocation(assertion: Assertion, reason: str) -> list[AssertionRevoked]:
    """A badge is revoked once; its reason stays the first one given."""
    if assertion.revoked:
        raise Conflict("the assertion is already revoked")
    return [
        AssertionRevoked(
            assertion_id=assertion.assertion_id,
            badge_class_id=assertion.badge_class_id,
            reason=reason,
        )
    ]


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
    request: Envelope[ClaimRequested],
    already_held: bool,
    issuer_name: str,
) -> BadgeAwarded | ClaimRejected:
    """Decided by the badge's processor in log order: the first Accept of a link wins.

    A claim has exactly one outcome, so this returns it, not a list."""
    claim = request.payload
    at = request.occurred_at
    refusal = claim_refusal(badge, offer, at, already_held)
    if refusal is not None:
        return ClaimRejected(offer_id=offer.offer_id, request_id=claim.request_id, reason=refusal)
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


def decide_quest_award(
    badge: BadgeClass, offer: Offer, cause: Envelope[QuestCompleted], held: bool, issuer_name: str
) -> list[BadgeAwarded]:
    """Evidence approved for every task: the learner's offer is fulfilled, with that evidence,
    unless it was already (a badge goes to a recipient once per offer)."""
    if offer.assertion_id is not None or held:
        return []
    return [
        award(
            badge,
            derived_id(cause.event_id, "BadgeAwarded"),
            offer.recipient_email,
            cause.occurred_at,
            issuer_name,
            offer.offer_id,
            reason="evidence",
            evidence=cause.payload.evidence,
        )
    ]


@dataclass(frozen=True)
class Holder:
    """A recipient, with the badges they hold (not revoked) and the activities those are for."""

    email: str
    badge_class_ids: frozenset[uuid.UUID]
    activity_ids: frozenset[uuid.UUID]


def decide_playlist_award(
    playlist: BadgeClass, holder: Holder, cause: Envelope[Any], at: datetime, issuer_name: str
) -> list[BadgeAwarded]:
    """A learner holding every activity badge of a playlist gets the playlist's badge, once
    (unless the playlist was archived before)."""
    if playlist.issuing_closed_at is not None:
        return []
    if playlist.badge_class_id in holder.badge_class_ids:
        return []
    if not playlist_completed(playlist, set(holder.activity_ids)):
        return []
    assertion_id = playlist_assertion_id(cause, playlist.badge_class_id, holder.email)
    return [award(playlist, assertion_id, holder.email, at, issuer_name, reason="playlist")]


def decide_new_playlist_awards(
    playlist: BadgeClass,
    holders_of_all: list[str],
    cause: Envelope[BadgeClassCreated],
    issuer_name: str,
) -> list[BadgeAwarded]:
    """A new playlist badge goes at once to those who already hold every badge it requires."""
    if playlist.source_kind != "playlist" or not playlist.required_activity_ids:
        return []
    if playlist.issuing_closed_at is not None:
        return []
    return [
        award(
            playlist,
            playlist_assertion_id(cause, playlist.badge_class_id, email),
            email,
            cause.occurred_at,
            issuer_name,
            reason="playlist",
        )
        for email in holders_of_all
    ]


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


def evolve(state: Badge | None, envelope: Envelope[Any]) -> Badge:
    """The badge after one more event of its stream; every event the service owns is here.

    Mirrored row by row by the projections (badge classes are saved from it as they are).
    """
    event = envelope.payload
    at = envelope.occurred_at
    if isinstance(event, BadgeClassCreated):
        return Badge(badge_class=_created(event, at))
    if state is None:
        raise ValueError(f"{envelope.event_type} for a badge that does not exist")
    badge = state.badge_class
    match event:
        case BadgeClassEdited():
            return replace(state, badge_class=_edited(badge, event, at))
        case BadgeIssuingClosed():
            if badge.issuing_closed_at is not None:
                return state
            return replace(state, badge_class=replace(badge, issuing_closed_at=at))
        case OpenLinkRegenerated():
            regenerated = replace(badge, open_link_generation=event.generation, updated_at=at)
            return replace(state, badge_class=regenerated)
        case PeerReviewerInvited():
            return replace(state, peer_reviewers=state.peer_reviewers | {event.email})
        case BadgeOffered():
            if event.offer_id in state.offers:
                return state  # the first offer under an id stands (a retried issue)
            offer = Offer(
                offer_id=event.offer_id,
                badge_class_id=event.badge_class_id,
                recipient_email=event.recipient_email,
                via=event.via,
                expires_at=event.expires_at,
                open_link_generation=event.open_link_generation,
            )
            return replace(state, offers={**state.offers, event.offer_id: offer})
        case HeldBadgeRequested():
            notice = (event.open_link_generation, event.recipient_email)
            return replace(state, holder_notices=state.holder_notices | {notice})
        case OfferResendRequested():
            return _with_offer(state, event.offer_id, email_status="resending")
        case ClaimRequested():
            if event.request_id in state.claims:
                return state
            claim = Claim(request_id=event.request_id, offer_id=event.offer_id)
            return replace(state, claims={**state.claims, event.request_id: claim})
        case BadgeAwarded():
            return _awarded(state, event)
        case ClaimRejected():
            return _with_claim(state, event.request_id, outcome="rejected", reason=event.reason)
        case AssertionRevoked():
            found = state.assertions.get(event.assertion_id)
            if found is None:
                return state
            revoked = replace(found, revoked=True)
            return replace(state, assertions={**state.assertions, event.assertion_id: revoked})
        case BulkIssueRequested() | BulkIssueFinished():
            # The rules read the offers a bulk issue made, not the request for them.
            return state
    raise ValueError(f"not an event of a badge: {envelope.event_type}")


def with_email_status(state: Badge, offer_id: uuid.UUID, status: EmailStatus) -> Badge:
    """The notifier's word on an offer's email (its events, not ours): the resend rule reads it.
    A final outcome (sent, failed) is never taken back by a later retry notice."""
    offer = state.offers.get(offer_id)
    if offer is None:
        return state
    if status == "retrying" and offer.email_status not in ("pending", "retrying", "resending"):
        return state
    return _with_offer(state, offer_id, email_status=status)


def _created(event: BadgeClassCreated, at: datetime) -> BadgeClass:
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
        created_at=at,
        updated_at=at,
        open_link=OpenLink(enabled=event.source_kind == "activity"),
    )


def _edited(badge: BadgeClass, event: BadgeClassEdited, at: datetime) -> BadgeClass:
    return replace(
        badge,
        name=event.name,
        description=event.description,
        criteria_narrative=event.criteria_narrative,
        image=event.image,
        expires_after_days=event.expires_after_days,
        evidence_mode=event.evidence_mode,
        open_link=allowed_open_link(badge, event.open_link),
        tasks=tuple(event.tasks),
        peer_approvals=event.peer_approvals,
        updated_at=at,
    )


def _awarded(state: Badge, event: BadgeAwarded) -> Badge:
    if event.assertion_id not in state.assertions:
        assertion = Assertion(
            assertion_id=event.assertion_id,
            badge_class_id=event.badge_class_id,
            recipient_email=event.recipient_email,
            revoked=False,
            issued_on=event.issued_on,
        )
        state = replace(state, assertions={**state.assertions, event.assertion_id: assertion})
    if event.offer_id is not None and event.offer_id in state.offers:
        offer = state.offers[event.offer_id]
        if offer.via == "open_link":
            # The open link's count: what `max_claims` limits.
            badge = state.badge_class
            state = replace(
                state, badge_class=replace(badge, open_link_claims=badge.open_link_claims + 1)
            )
        state = _with_offer(state, event.offer_id, assertion_id=event.assertion_id)
    if event.request_id is not None:
        state = _with_claim(
            state, event.request_id, outcome="awarded", assertion_id=event.assertion_id
        )
    return state


def _with_offer(state: Badge, offer_id: uuid.UUID, **changes: Any) -> Badge:
    offer = state.offers.get(offer_id)
    if offer is None:
        return state
    return replace(state, offers={**state.offers, offer_id: replace(offer, **changes)})


def _with_claim(state: Badge, request_id: uuid.UUID, **changes: Any) -> Badge:
    claim = state.claims.get(request_id)
    if claim is None:
        return state
    return replace(state, claims={**state.claims, request_id: replace(claim, **changes)})
