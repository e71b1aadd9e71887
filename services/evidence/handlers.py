"""The evidence service's event-to-handler map: what it learns from the badge and activity
services, what it projects of its own events, and what it decides on reviews."""

from __future__ import annotations

import json
from typing import Any

from contracts import Envelope, derived_envelope, derived_id
from contracts.activity import OrganiserAdded
from contracts.badge import (
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
    ReviewRecorded,
    ReviewRequested,
    SignInAsked,
    SignInRequested,
    SubmissionApproved,
    SubmissionRejected,
)
from services.evidence.adapters import read_models
from services.evidence.domain.model import decide_review, evidence_items
from services.kernel.handlers import Handlers
from services.kernel.unit_of_work import UnitOfWork
from services.organiser_access import key_projections

ACTOR = "service:evidence"


async def badge_created(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: BadgeClassCreated = envelope.payload
    uow.conn.defer(
        "INSERT INTO badges (badge_class_id, issuer_id, name, criteria) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING",
        event.badge_class_id,
        event.issuer_id,
        event.name,
        event.criteria_narrative,
    )


async def badge_edited(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: BadgeClassEdited = envelope.payload
    uow.conn.defer(
        "UPDATE badges SET name = $2, evidence_mode = $3, tasks = $4::jsonb, peer_approvals = $5, "
        "criteria = $6 WHERE badge_class_id = $1",
        event.badge_class_id,
        event.name,
        event.evidence_mode,
        json.dumps([task.model_dump(mode="json") for task in event.tasks]),
        event.peer_approvals,
        event.criteria_narrative,
    )


async def offered(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: BadgeOffered = envelope.payload
    uow.conn.defer(
        "INSERT INTO offers (offer_id, badge_class_id, email, expires_at) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING",
        event.offer_id,
        event.badge_class_id,
        event.recipient_email,
        event.expires_at,
    )


async def awarded(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    """Holders of a badge may review others' evidence for it; a quest's page links its badge."""
    event: BadgeAwarded = envelope.payload
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


async def peer_invited(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: PeerReviewerInvited = envelope.payload
    uow.conn.defer(
        "INSERT INTO peers (badge_class_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        event.badge_class_id,
        event.email,
    )


async def organiser_added(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: OrganiserAdded = envelope.payload
    uow.conn.defer(
        "INSERT INTO organisers (organiser_id, organisation_id, email) VALUES ($1, $2, $3) "
        "ON CONFLICT DO NOTHING",
        event.organiser_id,
        event.organisation_id,
        event.email.strip().lower(),
    )


async def quest_started(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: QuestStarted = envelope.payload
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


async def evidence_submitted(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: EvidenceSubmitted = envelope.payload
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


async def review_requested(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    """Who reviews the submission, as decided when it came in (peers may fall to organisers)."""
    event: ReviewRequested = envelope.payload
    uow.conn.defer(
        "UPDATE submissions SET review_role = $2 WHERE submission_id = $1",
        event.submission_id,
        event.role,
    )


async def sign_in_asked(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    """A link to each quest of the address. Done here, off the request path, so the request
    takes the same time whether the address has quests or not. Only quests started before the
    ask count, so a replay (whatever order the partitions come in) never finds one more."""
    event: SignInAsked = envelope.payload
    for quest in await read_models.quests_of(uow.conn, event.learner_email, envelope.occurred_at):
        version = await uow.lock_stream(quest.quest_id)
        await uow.emit(
            derived_envelope(
                SignInRequested(
                    quest_id=quest.quest_id,
                    learner_email=quest.learner_email,
                    badge_name=quest.badge_name,
                ),
                envelope,
                event_id=derived_id(envelope.event_id, f"SignInRequested:{quest.quest_id}"),
                stream_id=quest.quest_id,
                stream_version=version + 1,
                actor=ACTOR,
            )
        )


def make_review_recorded(public_url: str) -> Any:
    async def review_recorded(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
        """Record the review, then decide, under the quest's lock, what it settles."""
        event: ReviewRecorded = envelope.payload
        version = await uow.lock_stream(event.quest_id)
        earlier = await read_models.reviews(uow.conn, event.submission_id)
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
        # Everything a decision needs is the quest's own (its rules came with QuestStarted),
        # so replaying this service's log alone reaches the same decisions.
        submission = await read_models.submission(uow.conn, event.submission_id)
        quest = await read_models.quest(uow.conn, event.quest_id)
        if submission is None or quest is None:
            raise ValueError(f"review {event.review_id} names an unknown submission")
        decision = decide_review(
            submission,
            earlier,
            event,
            quest.peer_approvals,
            quest.learner_email,
            quest.badge_name,
        )
        if decision is not None:
            await uow.emit(
                derived_envelope(
                    decision,
                    envelope,
                    event_id=derived_id(envelope.event_id, "ReviewDecision"),
                    stream_id=event.quest_id,
                    stream_version=version + 1,
                    actor=ACTOR,
                )
            )

    async def submission_approved(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
        """Mark it approved; with every task approved, the quest is complete (once)."""
        event: SubmissionApproved = envelope.payload
        uow.conn.defer(
            "UPDATE submissions SET status = 'approved' WHERE submission_id = $1",
            event.submission_id,
        )
        version = await uow.lock_stream(event.quest_id)
        quest = await read_models.quest(uow.conn, event.quest_id)
        if quest is None or quest.completed:
            return
        latest = await read_models.latest_submissions(uow.conn, quest.quest_id)
        approved = {
            task_id: read_models.as_submission(row)
            for task_id, row in latest.items()
            if row["status"] == "approved"
        }
        if any(task.task_id not in approved for task in quest.tasks):
            return
        page = f"{public_url.rstrip('/')}/evidence/{quest.quest_id}"
        completed = QuestCompleted(
            quest_id=quest.quest_id,
            badge_class_id=quest.badge_class_id,
            offer_id=quest.offer_id,
            learner_email=quest.learner_email,
            evidence=evidence_items(quest.tasks, approved, page),
        )
        await uow.emit(
            derived_envelope(
                completed,
                envelope,
                event_id=derived_id(quest.quest_id, "QuestCompleted"),
                stream_id=quest.quest_id,
                stream_version=version + 1,
                actor=ACTOR,
            )
        )

    return review_recorded, submission_approved


async def submission_rejected(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: SubmissionRejected = envelope.payload
    uow.conn.defer(
        "UPDATE submissions SET status = 'rejected', feedback = $2 WHERE submission_id = $1",
        event.submission_id,
        event.feedback,
    )


async def quest_completed(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: QuestCompleted = envelope.payload
    uow.conn.defer("UPDATE quests SET completed = true WHERE quest_id = $1", event.quest_id)


def build_handlers(public_url: str) -> Handlers:
    review_recorded, submission_approved = make_review_recorded(public_url)
    return (
        Handlers()
        .project(BadgeClassCreated, badge_created)
        .project(BadgeClassEdited, badge_edited)
        .project(BadgeOffered, offered)
        .project(BadgeAwarded, awarded)
        .project(PeerReviewerInvited, peer_invited)
        .project(OrganiserAdded, organiser_added)
        .include(key_projections())
        .project(QuestStarted, quest_started)
        .project(EvidenceSubmitted, evidence_submitted)
        .project(ReviewRequested, review_requested)
        .project(SignInAsked, sign_in_asked)
        .project(ReviewRecorded, review_recorded)
        .project(SubmissionApproved, submission_approved)
        .project(SubmissionRejected, submission_rejected)
        .project(QuestCompleted, quest_completed)
    )
