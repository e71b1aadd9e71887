"""What runs on each event the notifier reads, in one screen: its projections (read models,
projections.py), then its policies (what to mail, policies.py)."""

from __future__ import annotations

from contracts.activity import OrganisationCreated, OrganiserAdded, OrganiserSignInRequested
from contracts.badge import (
    BadgeAwarded,
    BadgeClassCreated,
    BadgeClassEdited,
    BadgeOffered,
    HeldBadgeRequested,
    OfferResendRequested,
    PeerReviewerInvited,
)
from contracts.evidence import (
    AddressSignInAsked,
    PlaylistInvitationSent,
    QuestStarted,
    ReviewRequested,
    SignInRequested,
    SubmissionRejected,
)
from contracts.notifier import EmailDeferred, EmailFailed, EmailResendRequested, EmailSent
from services.kernel.handlers import Handlers
from services.notifier import projections as p
from services.notifier.policies import MailPolicies

PROJECTIONS = (
    Handlers()
    .project(EmailSent, p.email_recorded)
    .project(EmailFailed, p.email_recorded)
    .project(EmailDeferred, p.email_deferred)
    .project(EmailResendRequested, p.resend_requested)
    .project(BadgeClassCreated, p.badge_created)
    .project(BadgeClassEdited, p.badge_edited)
    .project(OrganisationCreated, p.organisation_created)
    .project(OrganiserAdded, p.organiser_added, p.source_kept)
    .project(QuestStarted, p.quest_started)
    .project(BadgeOffered, p.source_kept)
    .project(BadgeAwarded, p.source_kept)
    .project(HeldBadgeRequested, p.source_kept)
    .project(ReviewRequested, p.source_kept)
    .project(SubmissionRejected, p.source_kept)
    .project(SignInRequested, p.source_kept)
    .project(AddressSignInAsked, p.source_kept)
    .project(PlaylistInvitationSent, p.source_kept)
    .project(PeerReviewerInvited, p.source_kept, p.reviewer_invited)
    .project(OrganiserSignInRequested, p.source_kept)
)


def policies(mail: MailPolicies) -> Handlers:
    return (
        Handlers()
        .react(BadgeOffered, mail.mail)
        .react(BadgeAwarded, mail.mail)
        .react(HeldBadgeRequested, mail.mail)
        .react(ReviewRequested, mail.mail)
        .react(SubmissionRejected, mail.mail)
        .react(SignInRequested, mail.mail)
        .react(AddressSignInAsked, mail.mail)
        .react(PlaylistInvitationSent, mail.mail)
        .react(PeerReviewerInvited, mail.mail)
        .react(OrganiserSignInRequested, mail.mail)
        .react(OrganiserAdded, mail.mail)
        .react(OfferResendRequested, mail.resend_offer)
    )


def build_handlers(mail: MailPolicies, projections: Handlers = PROJECTIONS) -> Handlers:
    """The service's registry: the read models' projections (or, in tests, those that keep
    the in-memory state), then the policies."""
    return Handlers().include(projections).include(policies(mail))
