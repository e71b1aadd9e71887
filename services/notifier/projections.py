"""The notifier's read models, written from events (no decisions here): emails' outcomes, the
retry schedule, resends, the events emails are composed from, reviewer invitations, and what
emails need to know of badges, organisations, organisers and quests."""

from __future__ import annotations

from contracts import Envelope
from contracts.activity import OrganisationCreated, OrganiserAdded
from contracts.badge import (
    BadgeClassCreated,
    BadgeClassEdited,
    BadgeOffered,
    PeerReviewerInvited,
)
from contracts.evidence import QuestStarted
from contracts.notifier import EmailDeferred, EmailFailed, EmailResendRequested, EmailSent
from services.kernel.unit_of_work import UnitOfWork
from services.notifier.adapters import read_models
from services.notifier.domain.state import MailSource


async def email_recorded(
    uow: UnitOfWork, envelope: Envelope[EmailSent] | Envelope[EmailFailed]
) -> None:
    """An email's last word: it leaves the retry schedule."""
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO emails (email_id, cause_event_id, kind, recipient, status, detail, "
        "attempts, offer_id, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (email_id) DO NOTHING",
        envelope.event_id,
        event.cause_event_id,
        event.kind,
        event.recipient,
        "sent" if isinstance(event, EmailSent) else "failed",
        event.subject if isinstance(event, EmailSent) else event.reason,
        event.attempts,
        event.offer_id,
        envelope.occurred_at,
    )
    uow.conn.defer("DELETE FROM email_retries WHERE email_id = $1", envelope.event_id)


_SCHEDULE = (
    "INSERT INTO email_retries (email_id, cause_event_id, source_event_id, kind, recipient, "
    "offer_id, attempt, stream_version, failing_since, next_attempt_at, last_error) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
    "ON CONFLICT (email_id) DO UPDATE SET attempt = EXCLUDED.attempt, "
    "stream_version = EXCLUDED.stream_version, next_attempt_at = EXCLUDED.next_attempt_at, "
    "last_error = EXCLUDED.last_error WHERE email_retries.attempt < EXCLUDED.attempt"
)


async def email_deferred(uow: UnitOfWork, envelope: Envelope[EmailDeferred]) -> None:
    event = envelope.payload
    if await uow.is_applied(event.email_id):
        return  # its outcome came first (replaying a log where both are present)
    uow.conn.defer(
        _SCHEDULE,
        event.email_id,
        event.cause_event_id,
        event.source_event_id,
        event.kind,
        event.recipient,
        event.offer_id,
        event.attempt,
        envelope.stream_version,
        event.failing_since,
        event.next_attempt_at,
        event.reason,
    )


async def resend_requested(uow: UnitOfWork, envelope: Envelope[EmailResendRequested]) -> None:
    """A new email for a failed one, due at once; its retry period starts now."""
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO email_resends (email_id, resend_of, source_event_id, requested_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        event.email_id,
        event.resend_of,
        event.source_event_id,
        envelope.occurred_at,
    )
    if await uow.is_applied(event.email_id):
        return
    uow.conn.defer(
        _SCHEDULE,
        event.email_id,
        envelope.event_id,
        event.source_event_id,
        event.kind,
        event.recipient,
        event.offer_id,
        0,
        envelope.stream_version,
        envelope.occurred_at,
        envelope.occurred_at,
        "",
    )


async def badge_created(uow: UnitOfWork, envelope: Envelope[BadgeClassCreated]) -> None:
    read_models.forget_badges(uow.conn)
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO badges (badge_class_id, issuer_id, name, criteria, evidence_mode, "
        "task_count) VALUES ($1, $2, $3, $4, 'none', 0) ON CONFLICT DO NOTHING",
        event.badge_class_id,
        event.issuer_id,
        event.name,
        event.criteria_narrative,
    )


async def badge_edited(uow: UnitOfWork, envelope: Envelope[BadgeClassEdited]) -> None:
    read_models.forget_badges(uow.conn)
    event = envelope.payload
    uow.conn.defer(
        "UPDATE badges SET name = $2, criteria = $3, evidence_mode = $4, task_count = $5 "
        "WHERE badge_class_id = $1",
        event.badge_class_id,
        event.name,
        event.criteria_narrative,
        event.evidence_mode,
        len(event.tasks),
    )


async def organisation_created(uow: UnitOfWork, envelope: Envelope[OrganisationCreated]) -> None:
    read_models.forget_badges(uow.conn)
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO organisations (organisation_id, name) VALUES ($1, $2) "
        "ON CONFLICT (organisation_id) DO UPDATE SET name = EXCLUDED.name",
        event.organisation_id,
        event.name,
    )


async def organiser_added(uow: UnitOfWork, envelope: Envelope[OrganiserAdded]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO organisers (organiser_id, name) VALUES ($1, $2) "
        "ON CONFLICT (organiser_id) DO UPDATE SET name = EXCLUDED.name",
        event.organiser_id,
        event.name,
    )


async def quest_started(uow: UnitOfWork, envelope: Envelope[QuestStarted]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO quests (quest_id, issuer_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        event.quest_id,
        event.issuer_id,
    )


async def source_kept(uow: UnitOfWork, envelope: MailSource) -> None:
    """The event emails are composed from: a retry or a resend composes them again from it."""
    event = envelope.payload
    offer_id = event.offer_id if isinstance(event, BadgeOffered) else None
    read_models.keep_source(uow.conn, envelope, offer_id)


async def reviewer_invited(uow: UnitOfWork, envelope: Envelope[PeerReviewerInvited]) -> None:
    """The first invitation of a reviewer to a badge, in log order (a later one adds nothing)."""
    event = envelope.payload
    read_models.record_invitation(uow.conn, event.badge_class_id, event.email, envelope.event_id)
