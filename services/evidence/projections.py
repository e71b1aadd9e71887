"""What the evidence service writes into its read models on each event: what it learns of
badges, offers, holders, peers and organisers, and its own quests, submissions and reviews.
Projections record what an event says; they decide nothing (see policies.py)."""

from __future__ import annotations

import json

from contracts import Envelope
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
    SubmissionApproved,
    SubmissionRejected,
)
from services.evidence.domain.addresses import normalise_email
from services.kernel.unit_of_work import UnitOfWork


async def badge_created(uow: UnitOfWork, envelope: Envelope[BadgeClassCreated]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO badges (badge_class_id, issuer_id, name, criteria, source_kind, source_id, "
        "required_activity_ids, image_type) VALUES ($1, $2, $3, $4, $5, $6, $7::uuid[], $8) "
        "ON CONFLICT DO NOTHING",
        event.badge_class_id,
        event.issuer_id,
        event.name,
        event.criteria_narrative,
        event.source_kind,
        event.source_id,
        list(event.required_activity_ids),
        event.image.media_type,
    )


async def badge_edited(uow: UnitOfWork, envelope: Envelope[BadgeClassEdited]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "UPDATE badges SET name = $2, evidence_mode = $3, tasks = $4::jsonb, peer_approvals = $5, "
        "criteria = $6, image_type = $7 WHERE badge_class_id = $1",
        event.badge_class_id,
        event.name,
        event.evidence_mode,
        json.dumps([task.model_dump(mode="json") for task in event.tasks]),
        event.peer_approvals,
        event.criteria_narrative,
        event.image.media_type,
    )


async def offered(uow: UnitOfWork, envelope: Envelope[BadgeOffered]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO offers (offer_id, badge_class_id, email, expires_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING",
        event.offer_id,
        event.badge_class_id,
        event.recipient_email,
        event.expires_at,
    )


async def awarded(uow: UnitOfWork, envelope: Envelope[BadgeAwarded]) -> None:
    """Holders of a badge may review others' evidence for it; a quest's page links its badge."""
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO holders (badge_class_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        event.badge_class_id,
        event.recipient_email,
    )
    if event.offer_id is not None:
        uow.conn.defer(
            "UPDATE quests SET assertion_id = $2 WHERE offer_id = $1",
            event.offer_id,
            event.assertion_id,
        )


async def award_recorded(uow: UnitOfWork, envelope: Envelope[BadgeAwarded]) -> None:
    """Every award, for its holder's home (shown only to who proves its address)."""
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO awards (assertion_id, badge_class_id, issuer_id, recipient_email, "
        "badge_name, issuer_name, issued_on, expires, evidence) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) ON CONFLICT DO NOTHING",
        event.assertion_id,
        event.badge_class_id,
        event.issuer_id,
        normalise_email(event.recipient_email),
        event.badge_name,
        event.issuer_name,
        event.issued_on,
        event.expires,
        json.dumps([item.model_dump(mode="json") for item in event.evidence]),
    )


async def award_revoked(uow: UnitOfWork, envelope: Envelope[AssertionRevoked]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "UPDATE awards SET revoked = true, revocation_reason = $2 WHERE assertion_id = $1",
        event.assertion_id,
        event.reason,
    )


async def recipient_display_changed(
    uow: UnitOfWork, envelope: Envelope[RecipientDisplayChanged]
) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO recipient_names (assertion_id, display_name) VALUES ($1, $2) "
        "ON CONFLICT (assertion_id) DO UPDATE SET display_name = EXCLUDED.display_name",
        event.assertion_id,
        event.display_name,
    )


async def organisation_created(uow: UnitOfWork, envelope: Envelope[OrganisationCreated]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO organisations (organisation_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        event.organisation_id,
        event.name,
    )


async def peer_invited(uow: UnitOfWork, envelope: Envelope[PeerReviewerInvited]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO peers (badge_class_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        event.badge_class_id,
        event.email,
    )


async def organiser_added(uow: UnitOfWork, envelope: Envelope[OrganiserAdded]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO organisers (organiser_id, organisation_id, email, name) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        event.organiser_id,
        event.organisation_id,
        normalise_email(event.email),
        event.name,
    )


async def quest_started(uow: UnitOfWork, envelope: Envelope[QuestStarted]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO quests (quest_id, badge_class_id, issuer_id, offer_id, learner_email, "
        "badge_name, started_at, evidence_mode, tasks, peer_approvals) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10) ON CONFLICT DO NOTHING",
        event.quest_id,
        event.badge_class_id,
        event.issuer_id,
        event.offer_id,
        event.learner_email,
        event.badge_name,
        envelope.occurred_at,
        event.evidence_mode,
        json.dumps([task.model_dump(mode="json") for task in event.tasks]),
        event.peer_approvals,
    )


async def evidence_submitted(uow: UnitOfWork, envelope: Envelope[EvidenceSubmitted]) -> None:
    event = envelope.payload
    file = event.file
    uow.conn.defer(
        "INSERT INTO submissions (submission_id, quest_id, task_id, kind, text, url, "
        "file_sha256, file_size, file_media_type, file_name, submitted_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
        event.submission_id,
        event.quest_id,
        event.task_id,
        event.kind,
        event.text,
        event.url,
        file.sha256 if file else None,
        file.size if file else None,
        file.media_type if file else None,
        file.filename if file else None,
        envelope.occurred_at,
    )


async def review_requested(uow: UnitOfWork, envelope: Envelope[ReviewRequested]) -> None:
    """Who reviews the submission, as decided when it came in (peers may fall to organisers)."""
    event = envelope.payload
    uow.conn.defer(
        "UPDATE submissions SET review_role = $2 WHERE submission_id = $1",
        event.submission_id,
        event.role,
    )


async def review_recorded(uow: UnitOfWork, envelope: Envelope[ReviewRecorded]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO reviews (review_id, submission_id, reviewer, role, verdict, feedback, "
        "recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        event.review_id,
        event.submission_id,
        event.reviewer,
        event.role,
        event.verdict,
        event.feedback,
        envelope.occurred_at,
    )


async def submission_approved(uow: UnitOfWork, envelope: Envelope[SubmissionApproved]) -> None:
    uow.conn.defer(
        "UPDATE submissions SET status = 'approved' WHERE submission_id = $1",
        envelope.payload.submission_id,
    )


async def submission_rejected(uow: UnitOfWork, envelope: Envelope[SubmissionRejected]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "UPDATE submissions SET status = 'rejected', feedback = $2 WHERE submission_id = $1",
        event.submission_id,
        event.feedback,
    )


async def quest_completed(uow: UnitOfWork, envelope: Envelope[QuestCompleted]) -> None:
    event = envelope.payload
    uow.conn.defer("UPDATE quests SET completed = true WHERE quest_id = $1", event.quest_id)
