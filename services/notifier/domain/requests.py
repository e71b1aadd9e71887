"""Which events are mailed, and what a request to send again leads to: the organiser's resend
of an offer, the operator's `resend-failed`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from contracts import derived_id
from contracts.activity import OrganiserAdded, OrganiserSignInRequested
from contracts.badge import (
    BadgeAwarded,
    BadgeOffered,
    HeldBadgeRequested,
    OfferResendRequested,
    PeerReviewerInvited,
)
from contracts.evidence import (
    AddressSignInAsked,
    PlaylistInvitationSent,
    ReviewRequested,
    SignInRequested,
    SubmissionRejected,
)
from contracts.notifier import EmailFailed, EmailKind, EmailResendRequested
from services.notifier.domain.email import email_id

# The events an email is composed from.
MailEvent = (
    BadgeOffered
    | BadgeAwarded
    | HeldBadgeRequested
    | ReviewRequested
    | SubmissionRejected
    | SignInRequested
    | PeerReviewerInvited
    | OrganiserSignInRequested
    | OrganiserAdded
    | AddressSignInAsked
    | PlaylistInvitationSent
)


def decide_mail(
    event: MailEvent, event_id: uuid.UUID, first_invitation: uuid.UUID | None = None
) -> bool:
    """Whether an event is mailed. Every one is, except a peer reviewer invited again to the
    same badge: one invitation is enough. `first_invitation` is the event that first invited
    this reviewer to this badge (None: not known to have been)."""
    if isinstance(event, PeerReviewerInvited):
        return first_invitation is None or first_invitation == event_id
    return True


def offer_resend_failure_id(request_id: uuid.UUID) -> uuid.UUID:
    """The id of the EmailFailed that answers a resend of an offer the notifier never saw."""
    return email_id(request_id, "offer", "")


def decide_offer_resend(
    source_event_id: uuid.UUID | None, request_id: uuid.UUID, request: OfferResendRequested
) -> list[EmailFailed]:
    """The organiser's resend of an offer: mailed again from the offer's event when the
    notifier keeps it (nothing to record first: []); otherwise a failure that says so where the
    organiser looks, rather than leave the offer "resending" (offers from before the notifier
    kept what emails are composed from)."""
    if source_event_id is not None:
        return []
    return [
        EmailFailed(
            cause_event_id=request_id,
            kind="offer",
            recipient="(unknown)",
            reason="the notifier does not know this offer's email; rebuild the notifier",
            attempts=1,
            offer_id=request.offer_id,
        )
    ]


@dataclass(frozen=True)
class FailedEmail:
    """An email recorded as failed that nothing has sent since."""

    email_id: uuid.UUID
    kind: EmailKind
    recipient: str
    offer_id: uuid.UUID | None
    source_event_id: uuid.UUID | None  # None: composed from nothing the notifier kept
    recorded_at: datetime


def resend_request_id(failed_email_id: uuid.UUID) -> uuid.UUID:
    """One resend per failed email, however often the operator asks."""
    return derived_id(failed_email_id, "EmailResendRequested")


def decide_resend_failed(
    failed: FailedEmail, requested_by: str = "operator"
) -> list[EmailResendRequested]:
    """The operator's `resend-failed` for one failed email: a new email composed from the same
    source, tried and retried like a first one. An email whose source is not kept cannot be
    composed again: nothing is asked for ([])."""
    if failed.source_event_id is None:
        return []
    request_id = resend_request_id(failed.email_id)
    return [
        EmailResendRequested(
            email_id=email_id(request_id, failed.kind, failed.recipient),
            resend_of=failed.email_id,
            source_event_id=failed.source_event_id,
            kind=failed.kind,
            recipient=failed.recipient,
            offer_id=failed.offer_id,
            requested_by=requested_by,
        )
    ]
