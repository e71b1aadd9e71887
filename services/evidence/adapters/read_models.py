"""The evidence service's tables: what it knows of badges, offers, holders and reviewers (from
badge.events and activity.events), and its own quests, submissions and reviews."""

from __future__ import annotations

import json
import uuid
from typing import Any

from contracts.badge import EvidenceTask
from services.evidence.domain.model import Quest, Review, Submission
from services.kernel.store import Connection
from services.organiser_access import ORGANISER_KEYS_DDL

DDL = (
    """
CREATE TABLE IF NOT EXISTS badges (
    badge_class_id uuid PRIMARY KEY,
    issuer_id uuid NOT NULL,
    name text NOT NULL,
    evidence_mode text NOT NULL DEFAULT 'none',
    tasks jsonb NOT NULL DEFAULT '[]',
    peer_approvals integer NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS offers (
    offer_id uuid PRIMARY KEY,
    badge_class_id uuid NOT NULL,
    email text NOT NULL
);
CREATE TABLE IF NOT EXISTS holders (
    badge_class_id uuid NOT NULL,
    email text NOT NULL,
    PRIMARY KEY (badge_class_id, email)
);
CREATE TABLE IF NOT EXISTS peers (
    badge_class_id uuid NOT NULL,
    email text NOT NULL,
    PRIMARY KEY (badge_class_id, email)
);
CREATE TABLE IF NOT EXISTS organisers (
    organiser_id uuid PRIMARY KEY,
    organisation_id uuid NOT NULL,
    email text NOT NULL
);
CREATE TABLE IF NOT EXISTS quests (
    quest_id uuid PRIMARY KEY,
    badge_class_id uuid NOT NULL,
    issuer_id uuid NOT NULL,
    offer_id uuid NOT NULL,
    learner_email text NOT NULL,
    badge_name text NOT NULL,
    evidence_mode text NOT NULL,
    tasks jsonb NOT NULL,
    peer_approvals integer NOT NULL,
    completed boolean NOT NULL DEFAULT false,
    started_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    submission_id uuid PRIMARY KEY,
    quest_id uuid NOT NULL,
    task_id uuid NOT NULL,
    kind text NOT NULL,
    text text,
    url text,
    file_sha256 text,
    file_size integer,
    file_media_type text,
    file_name text,
    status text NOT NULL DEFAULT 'pending',
    feedback text NOT NULL DEFAULT '',
    submitted_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_by_quest ON submissions (quest_id, submitted_at);
CREATE TABLE IF NOT EXISTS reviews (
    review_id uuid PRIMARY KEY,
    submission_id uuid NOT NULL,
    reviewer text NOT NULL,
    role text NOT NULL,
    verdict text NOT NULL,
    feedback text NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_by_submission ON reviews (submission_id, recorded_at);
-- Added after the first release: a rebuild fills them for what came before.
ALTER TABLE badges ADD COLUMN IF NOT EXISTS criteria text NOT NULL DEFAULT '';
ALTER TABLE offers ADD COLUMN IF NOT EXISTS expires_at timestamptz;
ALTER TABLE quests ADD COLUMN IF NOT EXISTS assertion_id uuid;
ALTER TABLE submissions ADD COLUMN IF NOT EXISTS review_role text;
CREATE INDEX IF NOT EXISTS quests_by_offer ON quests (offer_id);
CREATE INDEX IF NOT EXISTS quests_by_learner ON quests (learner_email, started_at);
"""
    + ORGANISER_KEYS_DDL
)

CHECKSUM_TABLES = (
    "badges",
    "offers",
    "holders",
    "peers",
    "organisers",
    "quests",
    "submissions",
    "reviews",
    "organiser_keys",
)


async def badge(conn: Connection, badge_class_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM badges WHERE badge_class_id = $1", badge_class_id)
    if row is None:
        return None
    found = dict(row)
    found["tasks"] = tuple(EvidenceTask.model_validate(t) for t in json.loads(found["tasks"]))
    return found


async def offer(conn: Connection, offer_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM offers WHERE offer_id = $1", offer_id)
    return dict(row) if row else None


def _quest(row: Any) -> Quest:
    return Quest(
        quest_id=row["quest_id"],
        badge_class_id=row["badge_class_id"],
        issuer_id=row["issuer_id"],
        offer_id=row["offer_id"],
        learner_email=row["learner_email"],
        badge_name=row["badge_name"],
        completed=row["completed"],
        evidence_mode=row["evidence_mode"],
        tasks=tuple(EvidenceTask.model_validate(t) for t in json.loads(row["tasks"])),
        peer_approvals=row["peer_approvals"],
        assertion_id=row["assertion_id"],
    )


async def quest(conn: Connection, quest_id: uuid.UUID) -> Quest | None:
    row = await conn.fetchrow("SELECT * FROM quests WHERE quest_id = $1", quest_id)
    return _quest(row) if row else None


def as_submission(row: Any) -> Submission:
    return Submission(
        submission_id=row["submission_id"],
        quest_id=row["quest_id"],
        task_id=row["task_id"],
        kind=row["kind"],
        text=row["text"],
        url=row["url"],
        file_name=row["file_name"],
        status=row["status"],
        review_role=row["review_role"],
    )


async def submission(conn: Connection, submission_id: uuid.UUID) -> Submission | None:
    row = await conn.fetchrow("SELECT * FROM submissions WHERE submission_id = $1", submission_id)
    return as_submission(row) if row else None


async def submission_row(conn: Connection, submission_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM submissions WHERE submission_id = $1", submission_id)
    return dict(row) if row else None


async def latest_submissions(
    conn: Connection, quest_id: uuid.UUID
) -> dict[uuid.UUID, dict[str, Any]]:
    """Each task's latest submission in the quest."""
    rows = await conn.fetch(
        "SELECT DISTINCT ON (task_id) * FROM submissions WHERE quest_id = $1 "
        "ORDER BY task_id, submitted_at DESC, submission_id",
        quest_id,
    )
    return {row["task_id"]: dict(row) for row in rows}


async def reviews(conn: Connection, submission_id: uuid.UUID) -> list[Review]:
    rows = await conn.fetch(
        "SELECT reviewer, role, verdict FROM reviews WHERE submission_id = $1 "
        "ORDER BY recorded_at, review_id",
        submission_id,
    )
    return [Review(row["reviewer"], row["role"], row["verdict"]) for row in rows]


async def reviewers_for(conn: Connection, badge_class_id: uuid.UUID) -> set[str]:
    rows = await conn.fetch(
        "SELECT email FROM holders WHERE badge_class_id = $1 "
        "UNION SELECT email FROM peers WHERE badge_class_id = $1",
        badge_class_id,
    )
    return {row["email"] for row in rows}


async def organiser_emails(conn: Connection, organisation_id: uuid.UUID) -> list[str]:
    rows = await conn.fetch(
        "SELECT email FROM organisers WHERE organisation_id = $1 ORDER BY email", organisation_id
    )
    return [row["email"] for row in rows]


async def quest_for_offer(conn: Connection, offer_id: uuid.UUID) -> Quest | None:
    row = await conn.fetchrow(
        "SELECT * FROM quests WHERE offer_id = $1 ORDER BY started_at, quest_id LIMIT 1", offer_id
    )
    return _quest(row) if row else None


async def quests_of(conn: Connection, email: str, started_by: Any) -> list[Quest]:
    """The learner's quests started by a moment (done ones too: their page shows the badge)."""
    rows = await conn.fetch(
        "SELECT * FROM quests WHERE learner_email = $1 AND started_at <= $2 "
        "ORDER BY started_at, quest_id",
        email,
        started_by,
    )
    return [_quest(row) for row in rows]


async def submissions_of(conn: Connection, quest_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every submission of the quest, newest first within each task."""
    rows = await conn.fetch(
        "SELECT * FROM submissions WHERE quest_id = $1 "
        "ORDER BY task_id, submitted_at DESC, submission_id",
        quest_id,
    )
    return [dict(row) for row in rows]


async def review_by(
    conn: Connection, submission_id: uuid.UUID, reviewer: str
) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT verdict, feedback, recorded_at FROM reviews "
        "WHERE submission_id = $1 AND reviewer = $2 ORDER BY recorded_at LIMIT 1",
        submission_id,
        reviewer,
    )
    return dict(row) if row else None


async def review_queue(conn: Connection, organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        "SELECT s.submission_id, s.quest_id, s.task_id, s.kind, s.text, s.url, s.file_name, "
        "s.submitted_at, q.learner_email, q.badge_class_id, q.badge_name "
        "FROM submissions s JOIN quests q USING (quest_id) "
        "WHERE q.issuer_id = $1 AND s.status = 'pending' "
        "AND COALESCE(s.review_role, q.evidence_mode) = 'organiser' "
        "ORDER BY s.submitted_at, s.submission_id",
        organisation_id,
    )
    return [dict(row) for row in rows]
