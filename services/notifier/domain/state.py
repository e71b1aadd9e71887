"""What the notifier's policies read before they decide: the state port. The PostgreSQL read
models answer it in service (adapters/read_models.py), dicts kept by `evolve` in tests
(adapters/in_memory.py)."""

from __future__ import annotations

import uuid
from typing import Protocol

from contracts import Envelope
from contracts.activity import OrganiserAdded, OrganiserSignInRequested
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
from services.notifier.domain.email import EmailState

# An event an email is composed from, as the log carries it.
MailSource = (
    Envelope[BadgeOffered]
    | Envelope[BadgeAwarded]
    | Envelope[HeldBadgeRequested]
    | Envelope[ReviewRequested]
    | Envelope[SubmissionRejected]
    | Envelope[SignInRequested]
    | Envelope[PeerReviewerInvited]
    | Envelope[OrganiserSignInRequested]
    | Envelope[OrganiserAdded]
    | Envelope[AddressSignInAsked]
    | Envelope[PlaylistInvitationSent]
)


class MailState(Protocol):
    async def email(self, email_id: uuid.UUID) -> EmailState | None:
        """The email's state: None if nothing is known of it yet."""
        ...

    async def source(self, event_id: uuid.UUID) -> MailSource | None:
        """A kept event that emails are composed from."""
        ...

    async def offer_source(self, offer_id: uuid.UUID) -> MailSource | None:
        """The BadgeOffered an offer's email is composed from."""
        ...

    async def first_invitation(self, badge_class_id: uuid.UUID, email: str) -> uuid.UUID | None:
        """The event that first invited this peer reviewer to this badge (in log order)."""
        ...
