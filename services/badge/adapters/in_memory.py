"""The policies' state port kept in dicts by the domain's `evolve`: the same answers as the
read models, for running the badge service's policies on an in-memory unit of work."""

from __future__ import annotations

import uuid
from typing import TypeVar

from contracts import Envelope
from contracts.activity import OrganisationCreated
from contracts.badge import (
    AssertionRevoked,
    BadgeAwarded,
    BadgeClassCreated,
    BadgeClassEdited,
    BadgeEvent,
    BadgeIssuingClosed,
    BadgeOffered,
    ClaimRejected,
    ClaimRequested,
    HeldBadgeRequested,
    OfferResendRequested,
    OpenLinkRegenerated,
    PeerReviewerInvited,
)
from contracts.notifier import EmailDeferred, EmailFailed, EmailSent
from services.badge.domain.model import (
    Badge,
    BadgeClass,
    Claim,
    EmailStatus,
    Holder,
    Offer,
    evolve,
    normalise_email,
    with_email_status,
)
from services.kernel.handlers import Handlers
from services.kernel.unit_of_work import UnitOfWork

OWN_EVENTS: tuple[type[BadgeEvent], ...] = (
    BadgeClassCreated,
    BadgeClassEdited,
    OpenLinkRegenerated,
    PeerReviewerInvited,
    BadgeIssuingClosed,
    BadgeOffered,
    HeldBadgeRequested,
    OfferResendRequested,
    ClaimRequested,
    BadgeAwarded,
    ClaimRejected,
    AssertionRevoked,
)

B = TypeVar("B", bound=BadgeEvent)


class InMemoryBadgeStates:
    def __init__(self) -> None:
        self.badges: dict[uuid.UUID, Badge] = {}
        self.issuers: dict[uuid.UUID, str] = {}

    def of(self, uow: UnitOfWork) -> InMemoryBadgeStates:
        return self

    def projections(self) -> Handlers:
        """What keeps this state: `evolve` on every badge event, and what else the policies
        read (issuers' names, the notifier's word on offers' emails)."""
        handlers = Handlers().project(OrganisationCreated, self._issuer)
        for event_type in OWN_EVENTS:
            handlers.project(event_type, self._evolve)
        return (
            handlers.project(EmailSent, self._email_sent)
            .project(EmailFailed, self._email_failed)
            .project(EmailDeferred, self._email_deferred)
        )

    async def _evolve(self, uow: UnitOfWork, envelope: Envelope[B]) -> None:
        # Every badge event is keyed by its badge class id.
        badge_class_id = envelope.stream_id
        self.badges[badge_class_id] = evolve(self.badges.get(badge_class_id), envelope)

    async def _issuer(self, uow: UnitOfWork, envelope: Envelope[OrganisationCreated]) -> None:
        self.issuers.setdefault(envelope.payload.organisation_id, envelope.payload.name)

    async def _email_sent(self, uow: UnitOfWork, envelope: Envelope[EmailSent]) -> None:
        if envelope.payload.kind == "offer":
            self._email(envelope.payload.offer_id, "sent")

    async def _email_failed(self, uow: UnitOfWork, envelope: Envelope[EmailFailed]) -> None:
        if envelope.payload.kind == "offer":
            self._email(envelope.payload.offer_id, "failed")

    async def _email_deferred(self, uow: UnitOfWork, envelope: Envelope[EmailDeferred]) -> None:
        if envelope.payload.kind == "offer":
            self._email(envelope.payload.offer_id, "retrying")

    def _email(self, offer_id: uuid.UUID | None, status: EmailStatus) -> None:
        for badge_class_id, badge in self.badges.items():
            if offer_id is not None and offer_id in badge.offers:
                self.badges[badge_class_id] = with_email_status(badge, offer_id, status)

    # -- the port ------------------------------------------------------------------------------

    async def badge_class(self, badge_class_id: uuid.UUID) -> BadgeClass | None:
        badge = self.badges.get(badge_class_id)
        return badge.badge_class if badge else None

    async def badge_class_for_source(self, source_id: uuid.UUID) -> BadgeClass | None:
        for badge in self.badges.values():
            if badge.badge_class.source_id == source_id:
                return badge.badge_class
        return None

    async def offer(self, offer_id: uuid.UUID) -> Offer | None:
        for badge in self.badges.values():
            if offer_id in badge.offers:
                return badge.offers[offer_id]
        return None

    async def holds_badge(self, badge_class_id: uuid.UUID, email: str) -> bool:
        badge = self.badges.get(badge_class_id)
        return badge is not None and badge.holds(email)

    async def issuer_name(self, issuer_id: uuid.UUID) -> str:
        return self.issuers.get(issuer_id, "the organiser")

    async def playlists_requiring(self, activity_id: uuid.UUID) -> list[BadgeClass]:
        return [
            b.badge_class
            for b in self.badges.values()
            if activity_id in b.badge_class.required_activity_ids
        ]

    async def holder(self, email: str) -> Holder:
        held = [b.badge_class for b in self.badges.values() if b.holds(email)]
        return Holder(
            email=normalise_email(email),
            badge_class_ids=frozenset(b.badge_class_id for b in held),
            activity_ids=frozenset(b.source_id for b in held),
        )

    async def holders_of_all(self, badge_class_ids: list[uuid.UUID]) -> list[str]:
        required = [self.badges.get(badge_class_id) for badge_class_id in set(badge_class_ids)]
        if not required or any(badge is None for badge in required):
            return []
        emails = {a.recipient_email for b in required if b for a in b.assertions.values()}
        return sorted(e for e in emails if all(b is not None and b.holds(e) for b in required))

    async def claim(self, request_id: uuid.UUID) -> Claim | None:
        for badge in self.badges.values():
            if request_id in badge.claims:
                return badge.claims[request_id]
        return None
