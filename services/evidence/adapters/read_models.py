"""The evidence service's tables: what it knows of badges, offers, holders and reviewers (from
badge.events and activity.events), and its own quests, submissions and reviews."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from contracts.badge import EvidenceItem, EvidenceTask
from services.evidence.domain.badges import Badge, Offer
from services.evidence.domain.home import ActivityBadge, Award, PlaylistBadge
from services.evidence.domain.quests import Quest, Review, Submission
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
-- The learner's home: what every badge was made from, every award, organisations' names.
ALTER TABLE badges ADD COLUMN IF NOT EXISTS source_kind text NOT NULL DEFAULT 'activity';
ALTER TABLE badges ADD COLUMN IF NOT EXISTS source_id uuid;
ALTER TABLE badges ADD COLUMN IF NOT EXISTS required_activity_ids uuid[] NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS badges_by_source ON badges (source_id);
ALTER TABLE organisers ADD COLUMN IF NOT EXISTS name text NOT NULL DEFAULT '';
ALTER TABLE badges ADD COLUMN IF NOT EXISTS image_type text NOT NULL DEFAULT 'image/png';
CREATE TABLE IF NOT EXISTS awards (
    assertion_id uuid PRIMARY KEY,
    badge_class_id uuid NOT NULL,
    issuer_id uuid NOT NULL,
    recipient_email text NOT NULL,
    badge_name text NOT NULL,
    issuer_name text NOT NULL,
    issued_on timestamptz NOT NULL,
    expires timestamptz,
    evidence jsonb NOT NULL DEFAULT '[]',
    revoked boolean NOT NULL DEFAULT false,
    revocation_reason text NOT NULL DEFAULT ''
);
-- What each holder chose the badge page shows of them, apart from the awards: the choice is
-- in this service's own log, the award in the badge service's, and a rebuild replays its own
-- log first.
CREATE TABLE IF NOT EXISTS recipient_names (
    assertion_id uuid PRIMARY KEY,
    display_name text
);
CREATE INDEX IF NOT EXISTS awards_by_recipient ON awards (recipient_email, issued_on);
CREATE TABLE IF NOT EXISTS organisations (
    organisation_id uuid PRIMARY KEY,
    name text NOT NULL
);
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
    "awards",
    "recipient_names",
    "organisations",
)


def _tasks(value: str) -> tuple[EvidenceTask, ...]:
    return tuple(EvidenceTask.model_validate(t) for t in json.loads(value))


async def badge(conn: Connection, badge_class_id: uuid.UUID) -> Badge | None:
    row = await conn.fetchrow("SELECT * FROM badges WHERE badge_class_id = $1", badge_class_id)
    if row is None:
        return None
    return Badge(
        badge_class_id=row["badge_class_id"],
        issuer_id=row["issuer_id"],
        name=row["name"],
        criteria=row["criteria"],
        evidence_mode=row["evidence_mode"],
        tasks=_tasks(row["tasks"]),
        peer_approvals=row["peer_approvals"],
    )


async def offer(conn: Connection, offer_id: uuid.UUID) -> Offer | None:
    row = await conn.fetchrow("SELECT * FROM offers WHERE offer_id = $1", offer_id)
    if row is None:
        return None
    return Offer(row["offer_id"], row["badge_class_id"], row["email"], row["expires_at"])


async def lock_offer(conn: Connection, offer_id: uuid.UUID) -> None:
    """One quest start at a time per offer, until commit: two clicks find or make one quest."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"quest-start:{offer_id}"
    )


def as_submission(row: Any, reviews: tuple[Review, ...] = ()) -> Submission:
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
        feedback=row["feedback"],
        reviews=reviews,
    )


async def _quests(conn: Connection, rows: list[Any]) -> list[Quest]:
    """Quests with their submissions and reviews, in the order their events came (the
    latest submission of a task last, as `DISTINCT ON` below would pick it)."""
    if not rows:
        return []
    ids = [row["quest_id"] for row in rows]
    submissions = await conn.fetch(
        "SELECT * FROM submissions WHERE quest_id = ANY($1::uuid[]) "
        "ORDER BY submitted_at, submission_id DESC",
        ids,
    )
    reviews = await conn.fetch(
        "SELECT r.review_id, r.submission_id, r.reviewer, r.role, r.verdict FROM reviews r "
        "JOIN submissions s USING (submission_id) WHERE s.quest_id = ANY($1::uuid[]) "
        "ORDER BY r.recorded_at, r.review_id",
        ids,
    )
    by_submission: dict[uuid.UUID, list[Review]] = {}
    for r in reviews:
        by_submission.setdefault(r["submission_id"], []).append(
            Review(r["review_id"], r["reviewer"], r["role"], r["verdict"])
        )
    by_quest: dict[uuid.UUID, list[Submission]] = {}
    for row in submissions:
        by_quest.setdefault(row["quest_id"], []).append(
            as_submission(row, tuple(by_submission.get(row["submission_id"], ())))
        )
    return [
        Quest(
            quest_id=row["quest_id"],
            badge_class_id=row["badge_class_id"],
            issuer_id=row["issuer_id"],
            offer_id=row["offer_id"],
            learner_email=row["learner_email"],
            badge_name=row["badge_name"],
            evidence_mode=row["evidence_mode"],
            tasks=_tasks(row["tasks"]),
            peer_approvals=row["peer_approvals"],
            started_at=row["started_at"],
            completed=row["completed"],
            submissions=tuple(by_quest.get(row["quest_id"], ())),
            assertion_id=row["assertion_id"],
        )
        for row in rows
    ]


async def quest(conn: Connection, quest_id: uuid.UUID) -> Quest | None:
    row = await conn.fetchrow("SELECT * FROM quests WHERE quest_id = $1", quest_id)
    found = await _quests(conn, [row] if row else [])
    return found[0] if found else None


async def quest_for_offer(conn: Connection, offer_id: uuid.UUID) -> Quest | None:
    row = await conn.fetchrow(
        "SELECT * FROM quests WHERE offer_id = $1 ORDER BY started_at, quest_id LIMIT 1", offer_id
    )
    found = await _quests(conn, [row] if row else [])
    return found[0] if found else None


async def quests_of(conn: Connection, email: str, started_by: datetime) -> list[Quest]:
    """The learner's quests started by a moment (done ones too: their page shows the badge)."""
    rows = await conn.fetch(
        "SELECT * FROM quests WHERE learner_email = $1 AND started_at <= $2 "
        "ORDER BY started_at, quest_id",
        email,
        started_by,
    )
    return await _quests(conn, list(rows))


async def quest_of_submission(conn: Connection, submission_id: uuid.UUID) -> uuid.UUID | None:
    quest_id: uuid.UUID | None = await conn.fetchval(
        "SELECT quest_id FROM submissions WHERE submission_id = $1", submission_id
    )
    return quest_id


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


async def reviewers_for(conn: Connection, badge_class_id: uuid.UUID) -> set[str]:
    """Who may review the badge's evidence as a peer: its holders and invited reviewers."""
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


async def organiser_name(conn: Connection, organiser_id: uuid.UUID) -> str | None:
    name: str | None = await conn.fetchval(
        "SELECT name FROM organisers WHERE organiser_id = $1", organiser_id
    )
    return name or None


async def organiser_email(conn: Connection, organiser_id: uuid.UUID) -> str | None:
    email: str | None = await conn.fetchval(
        "SELECT email FROM organisers WHERE organiser_id = $1", organiser_id
    )
    return email


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


async def reviews_of(conn: Connection, submission_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every review of a submission, in the order recorded."""
    rows = await conn.fetch(
        "SELECT reviewer, role, verdict, feedback, recorded_at FROM reviews "
        "WHERE submission_id = $1 ORDER BY recorded_at, review_id",
        submission_id,
    )
    return [dict(row) for row in rows]


async def review_queue(conn: Connection, organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    """Oldest first; each with its task's title (from the quest's tasks as they were)."""
    rows = await conn.fetch(
        "SELECT s.submission_id, s.quest_id, s.task_id, s.kind, s.text, s.url, s.file_name, "
        "s.submitted_at, q.learner_email, q.badge_class_id, q.badge_name, "
        "(SELECT t->>'title' FROM jsonb_array_elements(q.tasks) t "
        "WHERE t->>'task_id' = s.task_id::text LIMIT 1) AS task_title "
        "FROM submissions s JOIN quests q USING (quest_id) "
        "WHERE q.issuer_id = $1 AND s.status = 'pending' "
        "AND COALESCE(s.review_role, q.evidence_mode) = 'organiser' "
        "ORDER BY s.submitted_at, s.submission_id",
        organisation_id,
    )
    return [dict(row) for row in rows]


class PostgresQuests:
    """The policies' view of quests, read from this service's tables in the unit of work's
    transaction (kept by the projections, so it is what `evolve` would give)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def quest(self, quest_id: uuid.UUID) -> Quest | None:
        return await quest(self._conn, quest_id)

    async def quests_of(self, email: str, started_by: datetime) -> list[Quest]:
        return await quests_of(self._conn, email, started_by)


# -- the learner's home -----------------------------------------------------------------------


def _award(row: Any) -> Award:
    return Award(
        assertion_id=row["assertion_id"],
        badge_class_id=row["badge_class_id"],
        issuer_id=row["issuer_id"],
        recipient_email=row["recipient_email"],
        badge_name=row["badge_name"],
        issuer_name=row["issuer_name"],
        issued_on=row["issued_on"],
        expires=row["expires"],
        revoked=row["revoked"],
        revocation_reason=row["revocation_reason"],
        evidence=tuple(EvidenceItem.model_validate(e) for e in json.loads(row["evidence"])),
        display_name=row["display_name"],
        image_type=row["image_type"] or "image/png",
    )


async def awards_of(conn: Connection, emails: tuple[str, ...]) -> list[Award]:
    """Every award made to these addresses (and to no other), newest first."""
    rows = await conn.fetch(
        "SELECT a.*, b.image_type, n.display_name FROM awards a "
        "LEFT JOIN badges b ON b.badge_class_id = a.badge_class_id "
        "LEFT JOIN recipient_names n ON n.assertion_id = a.assertion_id "
        "WHERE a.recipient_email = ANY($1::text[]) "
        "ORDER BY a.issued_on DESC, a.assertion_id DESC",
        list(emails),
    )
    return [_award(row) for row in rows]


async def award(conn: Connection, assertion_id: uuid.UUID) -> Award | None:
    row = await conn.fetchrow(
        "SELECT a.*, b.image_type, n.display_name FROM awards a "
        "LEFT JOIN badges b ON b.badge_class_id = a.badge_class_id "
        "LEFT JOIN recipient_names n ON n.assertion_id = a.assertion_id "
        "WHERE a.assertion_id = $1",
        assertion_id,
    )
    return _award(row) if row else None


def _playlist(row: Any) -> PlaylistBadge:
    return PlaylistBadge(
        badge_class_id=row["badge_class_id"],
        playlist_id=row["source_id"],
        issuer_id=row["issuer_id"],
        issuer_name=row["issuer_name"] or "",
        name=row["name"],
        activity_ids=tuple(row["required_activity_ids"]),
    )


_PLAYLISTS = (
    "SELECT b.*, o.name AS issuer_name FROM badges b "
    "LEFT JOIN organisations o ON o.organisation_id = b.issuer_id "
    "WHERE b.source_kind = 'playlist' AND b.source_id IS NOT NULL"
)


async def playlist(conn: Connection, playlist_id: uuid.UUID) -> PlaylistBadge | None:
    """A published playlist (one whose badge exists), by the playlist's id."""
    row = await conn.fetchrow(_PLAYLISTS + " AND b.source_id = $1", playlist_id)
    return _playlist(row) if row else None


async def playlists_with_any(
    conn: Connection, activity_ids: list[uuid.UUID]
) -> list[PlaylistBadge]:
    """The published playlists holding any of these activities."""
    rows = await conn.fetch(
        _PLAYLISTS + " AND b.required_activity_ids && $1::uuid[] ORDER BY b.name, b.source_id",
        activity_ids,
    )
    return [_playlist(row) for row in rows]


async def activity_badges(
    conn: Connection, activity_ids: list[uuid.UUID]
) -> dict[uuid.UUID, ActivityBadge]:
    rows = await conn.fetch(
        "SELECT badge_class_id, source_id, name FROM badges "
        "WHERE source_kind = 'activity' AND source_id = ANY($1::uuid[])",
        activity_ids,
    )
    return {
        row["source_id"]: ActivityBadge(row["badge_class_id"], row["source_id"], row["name"])
        for row in rows
    }


async def activities_of_badges(
    conn: Connection, badge_class_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT source_id FROM badges WHERE source_kind = 'activity' "
        "AND badge_class_id = ANY($1::uuid[]) AND source_id IS NOT NULL",
        badge_class_ids,
    )
    return [row["source_id"] for row in rows]


async def quests_in_progress(conn: Connection, emails: tuple[str, ...]) -> list[dict[str, Any]]:
    """The learner's quests not completed yet, each with how many of its tasks are approved."""
    rows = await conn.fetch(
        "SELECT q.quest_id, q.badge_name, q.tasks, q.started_at, "
        "(SELECT count(DISTINCT s.task_id) FROM submissions s WHERE s.quest_id = q.quest_id "
        " AND s.status = 'approved') AS approved, "
        "(SELECT count(DISTINCT s.task_id) FROM submissions s WHERE s.quest_id = q.quest_id "
        " AND s.status = 'pending') AS waiting "
        "FROM quests q WHERE q.learner_email = ANY($1::text[]) AND NOT q.completed "
        "ORDER BY q.started_at DESC",
        list(emails),
    )
    return [
        {
            "quest_id": row["quest_id"],
            "badge_name": row["badge_name"],
            "tasks": len(json.loads(row["tasks"])),
            "approved": row["approved"],
            "waiting": row["waiting"],
        }
        for row in rows
    ]
