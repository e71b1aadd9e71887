"""The badge service's tables: issuers, badge classes, offers, claim requests and assertions,
all re-derivable from the event logs."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from contracts.badge import BlobRef, EvidenceTask, OpenLink
from services.badge.domain.model import Assertion, BadgeClass, Claim, Holder, Offer
from services.kernel.deferred_writes import DeferringConnection
from services.kernel.store import Connection
from services.kernel.unit_of_work import UnitOfWork
from services.organiser_access import ORGANISER_KEYS_DDL

# Schemas made before offer_emails kept the outcome in offers: move it over, once.
_MOVE_EMAIL_OUTCOMES = """
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
               AND table_name = 'offers' AND column_name = 'email_status') THEN
        INSERT INTO offer_emails (offer_id, status, detail, attempts)
            SELECT offer_id, email_status, email_detail, email_attempts FROM offers
            WHERE email_status <> 'pending' ON CONFLICT DO NOTHING;
        ALTER TABLE offers DROP COLUMN email_status, DROP COLUMN email_detail,
            DROP COLUMN email_attempts;
    END IF;
END $$;
"""

DDL = (
    """
CREATE TABLE IF NOT EXISTS issuers (
    issuer_id uuid PRIMARY KEY,
    name text NOT NULL,
    url text NOT NULL,
    email text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS badge_classes (
    badge_class_id uuid PRIMARY KEY,
    issuer_id uuid NOT NULL,
    source_kind text NOT NULL,
    source_id uuid NOT NULL UNIQUE,
    name text NOT NULL,
    description text NOT NULL,
    criteria_narrative text NOT NULL,
    image_sha256 text NOT NULL,
    image_size integer NOT NULL,
    image_media_type text NOT NULL,
    required_activity_ids uuid[] NOT NULL,
    expires_after_days integer,
    evidence_mode text NOT NULL DEFAULT 'none',
    open_link_enabled boolean NOT NULL DEFAULT true,
    open_link_max_claims integer,
    open_link_valid_until timestamptz,
    open_link_generation integer NOT NULL DEFAULT 1,
    open_link_claims integer NOT NULL DEFAULT 0,
    tasks jsonb NOT NULL DEFAULT '[]',
    peer_approvals integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    issuing_closed_at timestamptz
);
ALTER TABLE badge_classes ADD COLUMN IF NOT EXISTS issuing_closed_at timestamptz;
CREATE INDEX IF NOT EXISTS badge_classes_by_issuer ON badge_classes (issuer_id, created_at);
CREATE INDEX IF NOT EXISTS playlist_badges_by_activity
    ON badge_classes USING gin (required_activity_ids);
-- Bulk issues accepted to be worked through after the answer (BulkIssueRequested), until
-- BulkIssueFinished: what the worker resumes after a restart, and what progress shows.
CREATE TABLE IF NOT EXISTS bulk_issues (
    issue_id uuid PRIMARY KEY,
    badge_class_id uuid NOT NULL,
    organisation_id uuid NOT NULL,
    organiser_id uuid NOT NULL,
    idempotency_key text NOT NULL,
    file_sha256 text NOT NULL,
    rows integer NOT NULL,
    rejected jsonb NOT NULL,
    rejected_count integer NOT NULL,
    requested_at timestamptz NOT NULL,
    finished boolean NOT NULL DEFAULT false,
    error text
);
CREATE INDEX IF NOT EXISTS bulk_issues_unfinished ON bulk_issues (requested_at) WHERE NOT finished;
CREATE TABLE IF NOT EXISTS offers (
    offer_id uuid PRIMARY KEY,
    badge_class_id uuid NOT NULL,
    recipient_email text NOT NULL,
    via text NOT NULL,
    open_link_generation integer,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    assertion_id uuid
);
CREATE INDEX IF NOT EXISTS offers_by_badge ON offers (badge_class_id, created_at);
-- The bulk issue an offer came from (its event's correlation id), for counting its progress.
ALTER TABLE offers ADD COLUMN IF NOT EXISTS issue_id uuid;
CREATE INDEX IF NOT EXISTS offers_by_issue ON offers (issue_id) WHERE issue_id IS NOT NULL;
-- The notifier's word on each offer's email, in a table of its own that only the outcome
-- writes. The outcome can be applied before the offer's row is committed (a request appends
-- BadgeOffered to Kafka, then commits; the notifier may have mailed it meanwhile), and an
-- update of a row not yet visible finds nothing: the outcome was lost. Kept apart, the two
-- writes never meet, in whatever order they land.
CREATE TABLE IF NOT EXISTS offer_emails (
    offer_id uuid PRIMARY KEY,
    status text NOT NULL,
    detail text NOT NULL,
    attempts integer NOT NULL
);
CREATE TABLE IF NOT EXISTS claim_requests (
    request_id uuid PRIMARY KEY,
    offer_id uuid NOT NULL,
    badge_class_id uuid NOT NULL,
    requested_at timestamptz NOT NULL,
    outcome text NOT NULL DEFAULT 'pending',
    reason text,
    assertion_id uuid
);
CREATE TABLE IF NOT EXISTS assertions (
    assertion_id uuid PRIMARY KEY,
    badge_class_id uuid NOT NULL,
    issuer_id uuid NOT NULL,
    offer_id uuid,
    reason text NOT NULL,
    recipient_email text NOT NULL,
    recipient_salt text NOT NULL,
    issued_on timestamptz NOT NULL,
    expires timestamptz,
    revoked boolean NOT NULL DEFAULT false,
    revocation_reason text,
    revoked_at timestamptz,
    evidence jsonb NOT NULL DEFAULT '[]'
);
-- What the holder chose the badge page shows of them (null: the masked address), kept apart
-- from the assertions: it comes from the evidence service's log, in whatever order a rebuild
-- meets it.
CREATE TABLE IF NOT EXISTS recipient_names (
    assertion_id uuid PRIMARY KEY,
    display_name text
);
CREATE TABLE IF NOT EXISTS peer_reviewers (
    badge_class_id uuid NOT NULL,
    email text NOT NULL,
    PRIMARY KEY (badge_class_id, email)
);
CREATE TABLE IF NOT EXISTS holder_notices (
    badge_class_id uuid NOT NULL,
    open_link_generation integer NOT NULL,
    recipient_email text NOT NULL,
    PRIMARY KEY (badge_class_id, open_link_generation, recipient_email)
);
CREATE INDEX IF NOT EXISTS offers_by_open_link
    ON offers (badge_class_id, open_link_generation, recipient_email) WHERE via = 'open_link';
CREATE INDEX IF NOT EXISTS assertions_by_badge ON assertions (badge_class_id, recipient_email);
CREATE INDEX IF NOT EXISTS assertions_by_recipient ON assertions (recipient_email);
"""
    + ORGANISER_KEYS_DDL
    + _MOVE_EMAIL_OUTCOMES
)

CHECKSUM_TABLES = (
    "bulk_issues",
    "peer_reviewers",
    "holder_notices",
    "issuers",
    "badge_classes",
    "offers",
    "offer_emails",
    "claim_requests",
    "assertions",
    "organiser_keys",
    "recipient_names",
)


def _badge_class(row: asyncpg.Record) -> BadgeClass:
    return BadgeClass(
        badge_class_id=row["badge_class_id"],
        issuer_id=row["issuer_id"],
        source_kind=row["source_kind"],
        source_id=row["source_id"],
        name=row["name"],
        description=row["description"],
        criteria_narrative=row["criteria_narrative"],
        image=BlobRef(
            sha256=row["image_sha256"],
            size=row["image_size"],
            media_type=row["image_media_type"],
        ),
        required_activity_ids=tuple(row["required_activity_ids"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        expires_after_days=row["expires_after_days"],
        evidence_mode=row["evidence_mode"],
        open_link=OpenLink(
            enabled=row["open_link_enabled"],
            max_claims=row["open_link_max_claims"],
            valid_until=row["open_link_valid_until"],
        ),
        open_link_generation=row["open_link_generation"],
        open_link_claims=row["open_link_claims"],
        tasks=tuple(EvidenceTask.model_validate(task) for task in json.loads(row["tasks"])),
        peer_approvals=row["peer_approvals"],
        issuing_closed_at=row["issuing_closed_at"],
    )


async def get_badge_class(conn: Connection, badge_class_id: uuid.UUID) -> BadgeClass | None:
    row = await conn.fetchrow(
        "SELECT * FROM badge_classes WHERE badge_class_id = $1", badge_class_id
    )
    return _badge_class(row) if row else None


async def badge_class_for_source(conn: Connection, source_id: uuid.UUID) -> BadgeClass | None:
    row = await conn.fetchrow("SELECT * FROM badge_classes WHERE source_id = $1", source_id)
    return _badge_class(row) if row else None


async def list_badge_classes(
    conn: Connection, issuer_id: uuid.UUID, source_id: uuid.UUID | None
) -> list[BadgeClass]:
    rows = await conn.fetch(
        "SELECT * FROM badge_classes WHERE issuer_id = $1 AND ($2::uuid IS NULL OR source_id = $2)"
        " ORDER BY created_at, badge_class_id",
        issuer_id,
        source_id,
    )
    return [_badge_class(row) for row in rows]


async def playlists_requiring(conn: Connection, activity_id: uuid.UUID) -> list[BadgeClass]:
    rows = await conn.fetch(
        "SELECT * FROM badge_classes WHERE required_activity_ids @> ARRAY[$1::uuid]", activity_id
    )
    return [_badge_class(row) for row in rows]


def save_badge_class(conn: DeferringConnection, badge: BadgeClass) -> None:
    """The badge class as `evolve` made it. Its open-link claim count is left to the award's
    projection, which counts it in place (no read on the path every award takes)."""
    conn.defer(
        """
        INSERT INTO badge_classes (badge_class_id, issuer_id, source_kind, source_id, name,
            description, criteria_narrative, image_sha256, image_size, image_media_type,
            required_activity_ids, expires_after_days, evidence_mode, open_link_enabled,
            open_link_max_claims, open_link_valid_until, created_at, updated_at, tasks,
            peer_approvals, open_link_generation, issuing_closed_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
            $19::jsonb, $20, $21, $22)
        ON CONFLICT (badge_class_id) DO UPDATE SET
            name = EXCLUDED.name, description = EXCLUDED.description,
            criteria_narrative = EXCLUDED.criteria_narrative,
            image_sha256 = EXCLUDED.image_sha256, image_size = EXCLUDED.image_size,
            image_media_type = EXCLUDED.image_media_type,
            expires_after_days = EXCLUDED.expires_after_days,
            evidence_mode = EXCLUDED.evidence_mode,
            open_link_enabled = EXCLUDED.open_link_enabled,
            open_link_max_claims = EXCLUDED.open_link_max_claims,
            open_link_valid_until = EXCLUDED.open_link_valid_until,
            open_link_generation = EXCLUDED.open_link_generation,
            tasks = EXCLUDED.tasks, peer_approvals = EXCLUDED.peer_approvals,
            issuing_closed_at = EXCLUDED.issuing_closed_at, updated_at = EXCLUDED.updated_at
        """,
        badge.badge_class_id,
        badge.issuer_id,
        badge.source_kind,
        badge.source_id,
        badge.name,
        badge.description,
        badge.criteria_narrative,
        badge.image.sha256,
        badge.image.size,
        badge.image.media_type,
        list(badge.required_activity_ids),
        badge.expires_after_days,
        badge.evidence_mode,
        badge.open_link.enabled,
        badge.open_link.max_claims,
        badge.open_link.valid_until,
        badge.created_at,
        badge.updated_at,
        json.dumps([task.model_dump(mode="json") for task in badge.tasks]) if badge.tasks else "[]",
        badge.peer_approvals,
        badge.open_link_generation,
        badge.issuing_closed_at,
    )


async def get_issuer(conn: Connection, issuer_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM issuers WHERE issuer_id = $1", issuer_id)
    return dict(row) if row else None


async def issuer_name(conn: Connection, issuer_id: uuid.UUID) -> str:
    """The organisation's name; its events may not have arrived yet on a fresh replay."""
    name = await conn.fetchval("SELECT name FROM issuers WHERE issuer_id = $1", issuer_id)
    return str(name) if name else "the organiser"


async def get_offer(conn: Connection, offer_id: uuid.UUID) -> Offer | None:
    row = await conn.fetchrow(
        "SELECT offer_id, badge_class_id, recipient_email, via, expires_at, assertion_id, "
        "open_link_generation, COALESCE(e.status, 'pending') AS email_status "
        "FROM offers LEFT JOIN offer_emails e USING (offer_id) WHERE offer_id = $1",
        offer_id,
    )
    return Offer(**dict(row)) if row else None


async def existing_offer_ids(conn: Connection, offer_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT offer_id FROM offers WHERE offer_id = ANY($1::uuid[])", offer_ids
    )
    return {row["offer_id"] for row in rows}


async def open_link_offer(
    conn: Connection, badge_class_id: uuid.UUID, generation: int, email: str
) -> uuid.UUID | None:
    """The offer this address already got from this generation of the badge's open link."""
    found = await conn.fetchval(
        "SELECT offer_id FROM offers WHERE badge_class_id = $1 AND via = 'open_link' "
        "AND open_link_generation = $2 AND recipient_email = $3 ORDER BY created_at LIMIT 1",
        badge_class_id,
        generation,
        email,
    )
    return found if isinstance(found, uuid.UUID) else None


async def open_link_taken(conn: Connection, badge: BadgeClass, now: datetime) -> int:
    """Badges claimed through the open link, and the personal links it mailed that can still
    be accepted: each of those has a badge kept for it."""
    waiting = await conn.fetchval(
        "SELECT count(*) FROM offers WHERE badge_class_id = $1 AND via = 'open_link' "
        "AND open_link_generation = $2 AND assertion_id IS NULL AND expires_at > $3",
        badge.badge_class_id,
        badge.open_link_generation,
        now,
    )
    return badge.open_link_claims + int(waiting or 0)


async def holder_notified(
    conn: Connection, badge_class_id: uuid.UUID, generation: int, email: str
) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM holder_notices WHERE badge_class_id = $1 "
            "AND open_link_generation = $2 AND recipient_email = $3",
            badge_class_id,
            generation,
            email,
        )
    )


async def held_assertion_id(
    conn: Connection, badge_class_id: uuid.UUID, email: str
) -> uuid.UUID | None:
    found = await conn.fetchval(
        "SELECT assertion_id FROM assertions WHERE badge_class_id = $1 AND recipient_email = $2 "
        "AND NOT revoked ORDER BY issued_on LIMIT 1",
        badge_class_id,
        email,
    )
    return found if isinstance(found, uuid.UUID) else None


async def reviewers_available(conn: Connection, badge_class_id: uuid.UUID) -> tuple[int, int]:
    """How many hold the badge (and may review), and how many reviewers were invited."""
    row = await conn.fetchrow(
        "SELECT (SELECT count(DISTINCT recipient_email) FROM assertions "
        "WHERE badge_class_id = $1 AND NOT revoked) AS holders, "
        "(SELECT count(*) FROM peer_reviewers WHERE badge_class_id = $1) AS invited",
        badge_class_id,
    )
    assert row is not None
    return int(row["holders"]), int(row["invited"])


async def list_offers(
    conn: Connection, badge_class_id: uuid.UUID, issue_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT o.offer_id, o.recipient_email, o.via, o.expires_at, o.created_at, "
        "o.assertion_id, o.issue_id, COALESCE(e.status, 'pending') AS email_status, "
        "COALESCE(e.detail, '') AS email_detail, COALESCE(e.attempts, 0) AS email_attempts "
        "FROM offers o LEFT JOIN offer_emails e USING (offer_id) WHERE o.badge_class_id = $1 "
        "AND ($2::uuid IS NULL OR o.issue_id = $2) ORDER BY o.created_at, o.offer_id",
        badge_class_id,
        issue_id,
    )
    return [dict(row) for row in rows]


async def issue_progress(
    conn: Connection, badge_class_id: uuid.UUID, issue_id: uuid.UUID
) -> dict[str, int]:
    """How far one bulk issue has got: its offers, and their emails by status."""
    rows = await conn.fetch(
        "SELECT COALESCE(e.status, 'pending') AS status, count(*) AS n, "
        "count(o.assertion_id) AS claimed "
        "FROM offers o LEFT JOIN offer_emails e USING (offer_id) "
        "WHERE o.issue_id = $1 AND o.badge_class_id = $2 GROUP BY 1",
        issue_id,
        badge_class_id,
    )
    counts = {status: 0 for status in ("pending", "retrying", "sent", "failed", "resending")}
    claimed = 0
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + int(row["n"])
        claimed += int(row["claimed"])
    return {"offers": sum(counts.values()), **counts, "claimed": claimed}


@dataclass(frozen=True)
class BulkIssue:
    issue_id: uuid.UUID
    badge_class_id: uuid.UUID
    organisation_id: uuid.UUID
    organiser_id: uuid.UUID
    idempotency_key: str
    file_sha256: str
    rows: int
    rejected: list[dict[str, Any]]
    rejected_count: int
    finished: bool
    error: str | None


def _bulk_issue(row: asyncpg.Record) -> BulkIssue:
    return BulkIssue(
        issue_id=row["issue_id"],
        badge_class_id=row["badge_class_id"],
        organisation_id=row["organisation_id"],
        organiser_id=row["organiser_id"],
        idempotency_key=row["idempotency_key"],
        file_sha256=row["file_sha256"],
        rows=row["rows"],
        rejected=json.loads(row["rejected"]),
        rejected_count=row["rejected_count"],
        finished=row["finished"],
        error=row["error"],
    )


async def bulk_issue(
    conn: Connection, badge_class_id: uuid.UUID, issue_id: uuid.UUID
) -> BulkIssue | None:
    row = await conn.fetchrow(
        "SELECT * FROM bulk_issues WHERE issue_id = $1 AND badge_class_id = $2",
        issue_id,
        badge_class_id,
    )
    return None if row is None else _bulk_issue(row)


async def unfinished_bulk_issues(conn: Connection, limit: int = 20) -> list[BulkIssue]:
    """The bulk issues still to work through, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM bulk_issues WHERE NOT finished ORDER BY requested_at, issue_id LIMIT $1",
        limit,
    )
    return [_bulk_issue(row) for row in rows]


async def peer_reviewers(conn: Connection, badge_class_id: uuid.UUID) -> list[str]:
    rows = await conn.fetch(
        "SELECT email FROM peer_reviewers WHERE badge_class_id = $1 ORDER BY email",
        badge_class_id,
    )
    return [row["email"] for row in rows]


async def holds_badge(conn: Connection, badge_class_id: uuid.UUID, email: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT true FROM assertions WHERE badge_class_id = $1 AND recipient_email = $2 "
            "AND NOT revoked LIMIT 1",
            badge_class_id,
            email,
        )
    )


async def holders_of_all(conn: Connection, badge_class_ids: list[uuid.UUID]) -> list[str]:
    """The recipients who hold every one of these badges (not revoked)."""
    rows = await conn.fetch(
        "SELECT recipient_email FROM assertions WHERE badge_class_id = ANY($1::uuid[]) "
        "AND NOT revoked GROUP BY recipient_email "
        "HAVING count(DISTINCT badge_class_id) = $2 ORDER BY recipient_email",
        badge_class_ids,
        len(set(badge_class_ids)),
    )
    return [row["recipient_email"] for row in rows]


async def held_badge_ids(conn: Connection, email: str) -> set[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT badge_class_id FROM assertions WHERE recipient_email = $1 AND NOT revoked", email
    )
    return {row["badge_class_id"] for row in rows}


async def get_assertion_row(conn: Connection, assertion_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT a.*, n.display_name FROM assertions a "
        "LEFT JOIN recipient_names n ON n.assertion_id = a.assertion_id "
        "WHERE a.assertion_id = $1",
        assertion_id,
    )
    return dict(row) if row else None


async def get_assertion(conn: Connection, assertion_id: uuid.UUID) -> Assertion | None:
    row = await get_assertion_row(conn, assertion_id)
    if row is None:
        return None
    return Assertion(
        assertion_id=row["assertion_id"],
        badge_class_id=row["badge_class_id"],
        recipient_email=row["recipient_email"],
        revoked=row["revoked"],
        issued_on=row["issued_on"],
    )


async def list_assertions(conn: Connection, badge_class_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT assertion_id, recipient_email, reason, issued_on, expires, revoked, "
        "revocation_reason FROM assertions WHERE badge_class_id = $1 "
        "ORDER BY issued_on, assertion_id",
        badge_class_id,
    )
    return [dict(row) for row in rows]


async def revoked_assertions(conn: Connection, issuer_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT assertion_id, revocation_reason FROM assertions "
        "WHERE issuer_id = $1 AND revoked ORDER BY assertion_id",
        issuer_id,
    )
    return [dict(row) for row in rows]


async def claim_outcome(conn: Connection, request_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT outcome, reason, assertion_id FROM claim_requests WHERE request_id = $1",
        request_id,
    )
    return dict(row) if row else None


async def get_claim(conn: Connection, request_id: uuid.UUID) -> Claim | None:
    row = await conn.fetchrow(
        "SELECT request_id, offer_id, outcome, reason, assertion_id FROM claim_requests "
        "WHERE request_id = $1",
        request_id,
    )
    return Claim(**dict(row)) if row else None


async def holder(conn: Connection, email: str) -> Holder:
    rows = await conn.fetch(
        "SELECT a.badge_class_id, b.source_id FROM assertions a "
        "JOIN badge_classes b USING (badge_class_id) WHERE a.recipient_email = $1 "
        "AND NOT a.revoked",
        email,
    )
    return Holder(
        email=email,
        badge_class_ids=frozenset(row["badge_class_id"] for row in rows),
        activity_ids=frozenset(row["source_id"] for row in rows),
    )


class PostgresBadgeStates:
    """The policies' state port over the read models, in the unit of work's transaction."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @classmethod
    def of(cls, uow: UnitOfWork) -> PostgresBadgeStates:
        return cls(uow.conn)

    async def badge_class(self, badge_class_id: uuid.UUID) -> BadgeClass | None:
        return await get_badge_class(self._conn, badge_class_id)

    async def badge_class_for_source(self, source_id: uuid.UUID) -> BadgeClass | None:
        return await badge_class_for_source(self._conn, source_id)

    async def offer(self, offer_id: uuid.UUID) -> Offer | None:
        return await get_offer(self._conn, offer_id)

    async def holds_badge(self, badge_class_id: uuid.UUID, email: str) -> bool:
        return await holds_badge(self._conn, badge_class_id, email)

    async def issuer_name(self, issuer_id: uuid.UUID) -> str:
        return await issuer_name(self._conn, issuer_id)

    async def playlists_requiring(self, activity_id: uuid.UUID) -> list[BadgeClass]:
        return await playlists_requiring(self._conn, activity_id)

    async def holder(self, email: str) -> Holder:
        return await holder(self._conn, email)

    async def holders_of_all(self, badge_class_ids: list[uuid.UUID]) -> list[str]:
        return await holders_of_all(self._conn, badge_class_ids)

    async def claim(self, request_id: uuid.UUID) -> Claim | None:
        return await get_claim(self._conn, request_id)
