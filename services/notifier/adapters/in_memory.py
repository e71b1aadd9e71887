"""The state port over dicts: each email's state kept by `domain.evolve`, the events emails are
composed from, and first invitations, fed by projections registered like the SQL ones. With
`services.kernel.in_memory.InMemoryUnitOfWork` the notifier's policies run without a
database."""

from __future__ import annotations

import uuid

from contracts import Envelope
from contracts.badge import (
    BadgeAwarded,
    BadgeOffered,
    HeldBadgeRequested,
    PeerReviewerInvited,
)
from contracts.evidence import (
    AddressSignInAsked,
    PlaylistInvitationSent,
    ReviewRequested,
    SignInRequested,
    SubmissionRejected,
)
from contracts.notifier import EmailDeferred, EmailFailed, EmailResendRequested, EmailSent
from services.kernel.handlers import Handlers
from services.kernel.unit_of_work import UnitOfWork
from services.notifier.domain.email import EmailState, NotifierEnvelope, email_of, evolve
from services.notifier.domain.state import MailSource


class InMemoryMailState:
    def __init__(self) -> None:
        self.emails: dict[uuid.UUID, EmailState] = {}
        self.sources: dict[uuid.UUID, MailSource] = {}
        self.invitations: dict[tuple[uuid.UUID, str], uuid.UUID] = {}

    # -- the port ------------------------------------------------------------------------------

    async def email(self, email_id: uuid.UUID) -> EmailState | None:
        return self.emails.get(email_id)

    async def source(self, event_id: uuid.UUID) -> MailSource | None:
        return self.sources.get(event_id)

    async def offer_source(self, offer_id: uuid.UUID) -> MailSource | None:
        offers = [
            kept
            for kept in self.sources.values()
            if isinstance(kept.payload, BadgeOffered) and kept.payload.offer_id == offer_id
        ]
        return min(offers, key=lambda kept: kept.event_id, default=None)

    async def first_invitation(self, badge_class_id: uuid.UUID, email: str) -> uuid.UUID | None:
        return self.invitations.get((badge_class_id, email.lower()))

    # -- what keeps it -------------------------------------------------------------------------

    async def _email_event(self, uow: UnitOfWork, envelope: NotifierEnvelope) -> None:
        email_id = email_of(envelope)
        self.emails[email_id] = evolve(self.emails.get(email_id), envelope)

    async def _source(self, uow: UnitOfWork, envelope: MailSource) -> None:
        self.sources.setdefault(envelope.event_id, envelope)

    async def _invited(self, uow: UnitOfWork, envelope: Envelope[PeerReviewerInvited]) -> None:
        invited = envelope.payload
        self.invitations.setdefault(
            (invited.badge_class_id, invited.email.lower()), envelope.event_id
        )

    def projections(self) -> Handlers:
        return (
            Handlers()
            .project(EmailSent, self._email_event)
            .project(EmailFailed, self._email_event)
            .project(EmailDeferred, self._email_event)
            .project(EmailResendRequested, self._email_event)
            .project(BadgeOffered, self._source)
            .project(BadgeAwarded, self._source)
            .project(HeldBadgeRequested, self._source)
            .project(ReviewRequested, self._source)
            .project(SubmissionRejected, self._source)
            .project(SignInRequested, self._source)
            .project(AddressSignInAsked, self._source)
            .project(PlaylistInvitationSent, self._source)
            .project(PeerReviewerInvited, self._source, self._invited)
        )
