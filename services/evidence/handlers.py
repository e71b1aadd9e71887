"""The evidence service's registry, per event: what it projects into its read models, then
what it decides. Its inputs are the badge and activity services' events; its own are the
quests'."""

from __future__ import annotations

from contracts.activity import OrganisationCreated, OrganiserAdded
from contracts.badge import (
    AssertionRevoked,
    BadgeAwarded,
    BadgeClassCreated,
    BadgeClassEdited,
    BadgeOffered,
    PeerReviewerInvited,
)
from contracts.evidence import (
    EvidenceSubmitted,
    QuestCompleted,
    QuestStarted,
    RecipientDisplayChanged,
    ReviewRecorded,
    ReviewRequested,
    SignInAsked,
    SubmissionApproved,
    SubmissionRejected,
)
from services.evidence import projections as p
from services.evidence.adapters.read_models import PostgresQuests
from services.evidence.policies import QuestPolicies
from services.kernel.handlers import Handlers
from services.organiser_access import key_projections

PROJECTIONS = (
    Handlers()
    .project(BadgeClassCreated, p.badge_created)
    .project(BadgeClassEdited, p.badge_edited)
    .project(BadgeOffered, p.offered)
    .project(BadgeAwarded, p.awarded, p.award_recorded)
    .project(AssertionRevoked, p.award_revoked)
    .project(RecipientDisplayChanged, p.recipient_display_changed)
    .project(OrganisationCreated, p.organisation_created)
    .project(PeerReviewerInvited, p.peer_invited)
    .project(OrganiserAdded, p.organiser_added)
    .include(key_projections())
    .project(QuestStarted, p.quest_started)
    .project(EvidenceSubmitted, p.evidence_submitted)
    .project(ReviewRequested, p.review_requested)
    .project(ReviewRecorded, p.review_recorded)
    .project(SubmissionApproved, p.submission_approved)
    .project(SubmissionRejected, p.submission_rejected)
    .project(QuestCompleted, p.quest_completed)
)


def policies(decide: QuestPolicies) -> Handlers:
    return (
        Handlers()
        .react(ReviewRecorded, decide.settle_review)
        .react(SubmissionApproved, decide.complete_quest)
        .react(SignInAsked, decide.mail_sign_in_links)
    )


def build_handlers(public_url: str) -> Handlers:
    """Projections into PostgreSQL; the policies read the quests from there too."""
    quests = QuestPolicies(lambda uow: PostgresQuests(uow.conn), public_url)
    return Handlers().include(PROJECTIONS).include(policies(quests))
