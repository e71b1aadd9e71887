"""The badge service's tables: issuers and badge classes, re-derivable from the event logs."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from contracts.badge import BlobRef
from services.badge.domain.model import BadgeClass
from services.kernel.deferred_writes import DeferringConnection
from services.kernel.organisers import ORGANISER_KEYS_DDL
from services.kernel.store import Connection

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
    version integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS badge_classes_by_issuer ON badge_classes (issuer_id, created_at);
"""
    + ORGANISER_KEYS_DDL
)

CHECKSUM_TABLES = ("issuers", "badge_classes", "organiser_keys")


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
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
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


def save_badge_class(conn: DeferringConnection, badge: BadgeClass) -> None:
    conn.defer(
        """
        INSERT INTO badge_classes (badge_class_id, issuer_id, source_kind, source_id, name,
            description, criteria_narrative, image_sha256, image_size, image_media_type,
            required_activity_ids, version, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
        ON CONFLICT (badge_class_id) DO UPDATE SET
            name = EXCLUDED.name, description = EXCLUDED.description,
            criteria_narrative = EXCLUDED.criteria_narrative,
            image_sha256 = EXCLUDED.image_sha256, image_size = EXCLUDED.image_size,
            image_media_type = EXCLUDED.image_media_type, version = EXCLUDED.version,
            updated_at = EXCLUDED.updated_at
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
        badge.version,
        badge.created_at,
        badge.updated_at,
    )


async def get_issuer(conn: Connection, issuer_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM issuers WHERE issuer_id = $1", issuer_id)
    return dict(row) if row else None
