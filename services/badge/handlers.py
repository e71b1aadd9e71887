"""The badge service's handlers, per event: its projections first, then its policies."""

from __future__ import annotations

from contracts.activity import (
    ActivityPublished,
    OrganisationCreated,
    PlaylistArchived,
    PlaylistPublished,
)
from contracts.badge import (
    AssertionRevoked,
    BadgeAwarded,
    BadgeClassCreated,
    BadgeClassEdited,
    BadgeClassEndorsed,
    BadgeIssuingClosed,
    BadgeOffered,
    BulkIssueFinished,
    BulkIssueRequested,
    ClaimRejected,
    ClaimRequested,
    CredentialIssued,
    HeldBadgeRequested,
    IssuerKeyCompromised,
    IssuerKeyCreated,
    OfferResendRequested,
    OpenLinkRegenerated,
    PeerReviewerInvited,
    SignedAssertionsEnabled,
)
from contracts.evidence import QuestCompleted, RecipientDisplayChanged
from contracts.notifier import EmailDeferred, EmailFailed, EmailSent
from services.badge import credential_projections as cp
from services.badge import projections as p
from services.badge.adapters.credential_signing import CredentialSigner
from services.badge.adapters.read_models import PostgresBadgeStates
from services.badge.adapters.state import StatesFor
from services.badge.credential_policies import CredentialPolicies
from services.badge.policies import Policies
from services.kernel.blob_store import BlobStore
from services.kernel.handlers import Handlers
from services.organiser_access import key_projections


def projections() -> Handlers:
    return (
        Handlers()
        .project(OrganisationCreated, p.issuer_known)
        .include(key_projections())
        .project(BadgeClassCreated, p.badge_class_created)
        .project(BadgeClassEdited, p.badge_class_edited)
        .project(OpenLinkRegenerated, p.open_link_regenerated)
        .project(BadgeIssuingClosed, p.badge_issuing_closed)
        .project(PeerReviewerInvited, p.peer_reviewer_invited)
        .project(BadgeOffered, p.badge_offered)
        .project(BulkIssueRequested, p.bulk_issue_requested)
        .project(BulkIssueFinished, p.bulk_issue_finished)
        .project(HeldBadgeRequested, p.held_badge_requested)
        .project(OfferResendRequested, p.offer_resend_requested)
        .project(ClaimRequested, p.claim_requested)
        .project(BadgeAwarded, p.badge_awarded)
        .project(ClaimRejected, p.claim_rejected)
        .project(AssertionRevoked, p.assertion_revoked)
        .project(RecipientDisplayChanged, p.recipient_display_changed)
        .project(EmailSent, p.email_sent)
        .project(EmailFailed, p.email_failed)
        .project(EmailDeferred, p.email_deferred)
    )


def policies(policy: Policies) -> Handlers:
    return (
        Handlers()
        .react(ActivityPublished, policy.badge_for_activity)
        .react(PlaylistPublished, policy.badge_for_playlist)
        .react(PlaylistArchived, policy.playlist_archived)
        .react(BadgeClassCreated, policy.badge_class_created)
        .react(ClaimRequested, policy.claim_requested)
        .react(BadgeAwarded, policy.badge_awarded)
        .react(QuestCompleted, policy.quest_completed)
    )


def credential_projections() -> Handlers:
    return (
        Handlers()
        .project(IssuerKeyCreated, cp.issuer_key_created)
        .project(IssuerKeyCompromised, cp.issuer_key_compromised)
        .project(CredentialIssued, cp.credential_issued)
        .project(SignedAssertionsEnabled, cp.signed_assertions_enabled)
        .project(BadgeClassEndorsed, cp.badge_class_endorsed)
    )


def credential_policies(policy: CredentialPolicies) -> Handlers:
    return (
        Handlers()
        .react(OrganisationCreated, policy.organisation_created)
        .react(BadgeAwarded, policy.badge_awarded)
    )


def build_handlers(
    blobs: BlobStore,
    states: StatesFor = PostgresBadgeStates.of,
    signer: CredentialSigner | None = None,
) -> Handlers:
    """Without a signer, awards get no Open Badges 3.0 credential (policy tests in memory)."""
    handlers = projections().include(credential_projections())
    handlers = handlers.include(policies(Policies(states, blobs)))
    if signer is not None:
        handlers = handlers.include(credential_policies(CredentialPolicies(signer)))
    return handlers
