"""The notifier's tables, all re-derivable from the logs: each email's outcome, the retry
schedule, the events emails are composed from, and what it knows of badges and organisers;
and the state port its policies read, over them."""

from __future__ import annotations

import uuid
import weakref
from datetime import datetime
from typing import Any, get_args

from contracts import Envelope, decode, encode
from contracts.notifier import EmailKind
from services.kernel.store import Connection
from services.kernel.unit_of_work import UnitOfWork
from services.notifier.domain.email import EmailState, Status
from services.notifier.domain.requests import FailedEmail
from services.notifier.domain.state import MailSource

DDL = """
CREATE TABLE IF NOT EXISTS emails (
    email_id uuid PRIMARY KEY,
    cause_event_id uuid NOT NULL,
    kind text NOT NULL,
    recipient text NOT NULL,
    status text NOT NULL,
    detail text NOT NULL,
    attempts integer NOT NULL,
    offer_id uuid,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS emails_failed ON emails (recorded_at) WHERE status = 'failed';
CREATE INDEX IF NOT EXISTS emails_by_offer ON emails (offer_id) WHERE offer_id IS NOT NULL;
-- The events emails are composed from (an offer, an award, a review request ...): a retry or a
-- resend composes its message again from here.
CREATE TABLE IF NOT EXISTS mail_sources (
    event_id uuid PRIMARY KEY,
    offer_id uuid,
    envelope text NOT NULL
);
CREATE INDEX IF NOT EXISTS mail_sources_by_offer ON mail_sources (offer_id)
    WHERE offer_id IS NOT NULL;
-- Emails waiting for another attempt: one row from their first EmailDeferred (or resend
-- request) until their EmailSent or EmailFailed.
CREATE TABLE IF NOT EXISTS email_retries (
    email_id uuid PRIMARY KEY,
    cause_event_id uuid NOT NULL,
    source_event_id uuid NOT NULL,
    kind text NOT NULL,
    recipient text NOT NULL,
    offer_id uuid,
    attempt integer NOT NULL,
    stream_version integer NOT NULL,
    failing_since timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    last_error text NOT NULL
);
CREATE INDEX IF NOT EXISTS email_retries_due ON email_retries (next_attempt_at);
CREATE TABLE IF NOT EXISTS email_resends (
    email_id uuid PRIMARY KEY,
    resend_of uuid NOT NULL,
    source_event_id uuid NOT NULL,
    requested_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS email_resends_of ON email_resends (resend_of);
CREATE TABLE IF NOT EXISTS badges (
    badge_class_id uuid PRIMARY KEY,
    issuer_id uuid NOT NULL,
    name text NOT NULL,
    criteria text NOT NULL,
    evidence_mode text NOT NULL,
    task_count integer NOT NULL
);
CREATE TABLE IF NOT EXISTS organisations (
    organisation_id uuid PRIMARY KEY,
    name text NOT NULL
);
CREATE TABLE IF NOT EXISTS organisers (
    organiser_id uuid PRIMARY KEY,
    name text NOT NULL
);
-- Who is invited to review which badge, and by which event first: an invitation again is
-- not mailed again.
CREATE TABLE IF NOT EXISTS reviewer_invitations (
    badge_class_id uuid NOT NULL,
    email text NOT NULL,
    first_event_id uuid NOT NULL,
    PRIMARY KEY (badge_class_id, email)
);
-- Tables made before the first invitation's event was kept: their rows were mailed already.
ALTER TABLE reviewer_invitations ADD COLUMN IF NOT EXISTS first_event_id uuid NOT NULL
    DEFAULT '00000000-0000-0000-0000-000000000000';
CREATE TABLE IF NOT EXISTS quests (
    quest_id uuid PRIMARY KEY,
    issuer_id uuid NOT NULL
);
"""

CHECKSUM_TABLES = (
    "emails",
    "email_retries",
    "email_resends",
    "mail_sources",
    "reviewer_invitations",
    "badges",
    "organisations",
    "organisers",
    "quests",
)


def keep_source(conn: Any, envelope: MailSource, offer_id: uuid.UUID | None) -> None:
    conn.defer(
        "INSERT INTO mail_sources (event_id, offer_id, envelope) VALUES ($1, $2, $3) "
        "ON CONFLICT (event_id) DO NOTHING",
        envelope.event_id,
        offer_id,
        encode(envelope).decode(),
    )


def record_invitation(
    conn: Any, badge_class_id: uuid.UUID, email: str, event_id: uuid.UUID
) -> None:
    conn.defer(
        "INSERT INTO reviewer_invitations (badge_class_id, email, first_event_id) "
        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        badge_class_id,
        email.lower(),
        event_id,
    )


async def source(conn: Connection, event_id: uuid.UUID) -> Envelope[Any] | None:
    raw = await conn.fetchval("SELECT envelope FROM mail_sources WHERE event_id = $1", event_id)
    return decode(raw.encode()) if raw is not None else None


async def offer_source(conn: Connection, offer_id: uuid.UUID) -> Envelope[Any] | None:
    """The BadgeOffered an offer's email is composed from."""
    raw = await conn.fetchval(
        "SELECT envelope FROM mail_sources WHERE offer_id = $1 ORDER BY event_id LIMIT 1",
        offer_id,
    )
    return decode(raw.encode()) if raw is not None else None


async def first_invitation(
    conn: Connection, badge_class_id: uuid.UUID, email: str
) -> uuid.UUID | None:
    found: uuid.UUID | None = await conn.fetchval(
        "SELECT first_event_id FROM reviewer_invitations WHERE badge_class_id = $1 AND email = $2",
        badge_class_id,
        email.lower(),
    )
    return found


_KINDS: dict[str, EmailKind] = {kind: kind for kind in get_args(EmailKind)}


def _kind(text: str) -> EmailKind:
    """A kind read back from a table, checked against the event's Literal."""
    return _KINDS[text]


_RETRY_COLUMNS = (
    "email_id, cause_event_id, source_event_id, kind, recipient, offer_id, attempt, "
    "stream_version, failing_since, next_attempt_at, last_error"
)


def _retrying(row: Any) -> EmailState:
    return EmailState(
        email_id=row["email_id"],
        kind=_kind(row["kind"]),
        recipient=row["recipient"],
        cause_event_id=row["cause_event_id"],
        offer_id=row["offer_id"],
        status=Status.RETRYING,
        attempts=row["attempt"],
        version=row["stream_version"],
        source_event_id=row["source_event_id"],
        failing_since=row["failing_since"],
        next_attempt_at=row["next_attempt_at"],
        detail=row["last_error"],
    )


_EMAIL_STATE = (
    "SELECT e.email_id, e.cause_event_id, e.kind, e.recipient, e.status, e.detail, e.attempts, "
    "e.offer_id, r.email_id AS r_email_id, r.cause_event_id AS r_cause_event_id, "
    "r.source_event_id AS r_source_event_id, r.kind AS r_kind, r.recipient AS r_recipient, "
    "r.offer_id AS r_offer_id, r.attempt AS r_attempt, r.stream_version AS r_stream_version, "
    "r.failing_since AS r_failing_since, r.next_attempt_at AS r_next_attempt_at, "
    "r.last_error AS r_last_error "
    "FROM (SELECT $1::uuid AS id) k LEFT JOIN emails e ON e.email_id = k.id "
    "LEFT JOIN email_retries r ON r.email_id = k.id"
)


async def email(conn: Connection, email_id: uuid.UUID) -> EmailState | None:
    """An email's state: its last word from `emails`, else its place in the schedule (both
    read in one round trip)."""
    row = await conn.fetchrow(_EMAIL_STATE, email_id)
    if row["email_id"] is not None:
        return EmailState(
            email_id=row["email_id"],
            kind=_kind(row["kind"]),
            recipient=row["recipient"],
            cause_event_id=row["cause_event_id"],
            offer_id=row["offer_id"],
            status=Status(row["status"]),
            attempts=row["attempts"],
            version=0,  # not kept once recorded: nothing follows a last word
            detail=row["detail"],
        )
    if row["r_email_id"] is None:
        return None
    return _retrying({name: row[f"r_{name}"] for name in _RETRY_COLUMNS.split(", ")})


class ReadModels:
    """The state port over one unit of work's transaction."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._conn = uow.conn

    async def email(self, email_id: uuid.UUID) -> EmailState | None:
        return await email(self._conn, email_id)

    async def source(self, event_id: uuid.UUID) -> MailSource | None:
        return await source(self._conn, event_id)

    async def offer_source(self, offer_id: uuid.UUID) -> MailSource | None:
        return await offer_source(self._conn, offer_id)

    async def first_invitation(self, badge_class_id: uuid.UUID, email: str) -> uuid.UUID | None:
        return await first_invitation(self._conn, badge_class_id, email)


async def due_retries(conn: Connection, now: datetime, limit: int) -> list[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT email_id FROM email_retries WHERE next_attempt_at <= $1 "
        "ORDER BY next_attempt_at, email_id LIMIT $2",
        now,
        limit,
    )
    return [row["email_id"] for row in rows]


async def take_due_retry(conn: Connection, email_id: uuid.UUID, now: datetime) -> EmailState | None:
    """The retry, locked until commit; None when it is done, not due, or another notifier
    process is at it."""
    row = await conn.fetchrow(
        f"SELECT {_RETRY_COLUMNS} FROM email_retries WHERE email_id = $1 "  # noqa: S608
        "AND next_attempt_at <= $2 FOR UPDATE SKIP LOCKED",
        email_id,
        now,
    )
    return _retrying(row) if row is not None else None


# What each unit of work's transaction has read of badges (a batch of offers of one badge
# reads it once); forgotten when the unit writes a badge or an organisation.
_badges_read: weakref.WeakKeyDictionary[Any, dict[uuid.UUID, dict[str, Any] | None]] = (
    weakref.WeakKeyDictionary()
)


def forget_badges(conn: Any) -> None:
    _badges_read.pop(conn, None)


async def badge(conn: Connection, badge_class_id: uuid.UUID) -> dict[str, Any] | None:
    try:
        read = _badges_read.setdefault(conn, {})
    except TypeError:  # a connection that takes no weak reference: read each time
        read = {}
    if badge_class_id in read:
        found = read[badge_class_id]
        return dict(found) if found is not None else None
    row = await conn.fetchrow(
        "SELECT b.name, b.criteria, b.evidence_mode, b.task_count, o.name AS issuer "
        "FROM badges b LEFT JOIN organisations o ON o.organisation_id = b.issuer_id "
        "WHERE b.badge_class_id = $1",
        badge_class_id,
    )
    read[badge_class_id] = dict(row) if row is not None else None
    return dict(row) if row is not None else None


async def issuer_of_quest(conn: Connection, quest_id: uuid.UUID) -> str | None:
    name: str | None = await conn.fetchval(
        "SELECT o.name FROM quests q JOIN organisations o ON o.organisation_id = q.issuer_id "
        "WHERE q.quest_id = $1",
        quest_id,
    )
    return name


async def organisation_name(conn: Connection, organisation_id: uuid.UUID) -> str | None:
    name: str | None = await conn.fetchval(
        "SELECT name FROM organisations WHERE organisation_id = $1", organisation_id
    )
    return name


async def organiser_name(conn: Connection, organiser_id: uuid.UUID) -> str | None:
    name: str | None = await conn.fetchval(
        "SELECT name FROM organisers WHERE organiser_id = $1", organiser_id
    )
    return name


async def failed_in_window(conn: Connection, since: datetime, until: datetime) -> list[FailedEmail]:
    """Emails recorded as failed in [since, until) that nothing has sent since: no resend of
    them, and for an offer no later email of the same offer nor one being retried."""
    rows = await conn.fetch(
        """
        SELECT e.email_id, e.kind, e.recipient, e.offer_id, e.recorded_at,
               COALESCE(
                   (SELECT s.event_id FROM mail_sources s WHERE s.event_id = e.cause_event_id),
                   (SELECT r.source_event_id FROM email_resends r WHERE r.email_id = e.email_id),
                   (SELECT s.event_id FROM mail_sources s
                     WHERE e.kind = 'offer' AND s.offer_id = e.offer_id
                     ORDER BY s.event_id LIMIT 1)
               ) AS source_event_id
        FROM emails e
        WHERE e.status = 'failed' AND e.recorded_at >= $1 AND e.recorded_at < $2
          AND NOT EXISTS (SELECT 1 FROM email_resends r WHERE r.resend_of = e.email_id)
          AND NOT (e.offer_id IS NOT NULL AND e.kind = 'offer' AND (
                EXISTS (SELECT 1 FROM emails l WHERE l.offer_id = e.offer_id
                        AND l.kind = 'offer' AND l.recorded_at > e.recorded_at)
                OR EXISTS (SELECT 1 FROM email_retries q WHERE q.offer_id = e.offer_id)))
        ORDER BY e.recorded_at, e.email_id
        """,
        since,
        until,
    )
    return [FailedEmail(**(dict(row) | {"kind": _kind(row["kind"])})) for row in rows]
