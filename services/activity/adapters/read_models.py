"""The activity service's tables in PostgreSQL: read models that are also the state decisions
are made from (always re-derivable from `activity.events`)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from services.activity.domain.model import Activity, Playlist, Status
from services.kernel.deferred_writes import DeferringConnection
from services.kernel.organisers import ORGANISER_KEYS_DDL
from services.kernel.store import Connection

DDL = (
    """
CREATE TABLE IF NOT EXISTS organisations (
    organisation_id uuid PRIMARY KEY,
    name text NOT NULL,
    url text NOT NULL,
    email text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS organisers (
    organiser_id uuid PRIMARY KEY,
    organisation_id uuid NOT NULL,
    name text NOT NULL,
    email text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS activities (
    activity_id uuid PRIMARY KEY,
    organisation_id uuid NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    criteria text NOT NULL,
    status text NOT NULL,
    version integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS activities_by_organisation ON activities (organisation_id, created_at);
CREATE TABLE IF NOT EXISTS playlists (
    playlist_id uuid PRIMARY KEY,
    organisation_id uuid NOT NULL,
    title text NOT NULL,
    description text NOT NULL,
    activity_ids uuid[] NOT NULL,
    status text NOT NULL,
    version integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS playlists_by_organisation ON playlists (organisation_id, created_at);
"""
    + ORGANISER_KEYS_DDL
)

CHECKSUM_TABLES = ("organisations", "organisers", "organiser_keys", "activities", "playlists")


def _activity(row: asyncpg.Record) -> Activity:
    return Activity(**{**dict(row), "status": Status(row["status"])})


def _playlist(row: asyncpg.Record) -> Playlist:
    return Playlist(
        **{**dict(row), "status": Status(row["status"]), "activity_ids": tuple(row["activity_ids"])}
    )


async def get_activity(
    conn: Connection, activity_id: uuid.UUID, *, lock: bool = False
) -> Activity | None:
    query = (
        "SELECT * FROM activities WHERE activity_id = $1 FOR UPDATE"
        if lock
        else "SELECT * FROM activities WHERE activity_id = $1"
    )
    row = await conn.fetchrow(query, activity_id)
    return _activity(row) if row else None


async def get_activities(
    conn: Connection, activity_ids: tuple[uuid.UUID, ...]
) -> dict[uuid.UUID, Activity]:
    rows = await conn.fetch(
        "SELECT * FROM activities WHERE activity_id = ANY($1::uuid[])", list(activity_ids)
    )
    return {row["activity_id"]: _activity(row) for row in rows}


async def list_activities(
    conn: Connection, organisation_id: uuid.UUID, status: Status | None
) -> list[Activity]:
    rows = await conn.fetch(
        "SELECT * FROM activities WHERE organisation_id = $1 AND ($2::text IS NULL OR status = $2)"
        " ORDER BY created_at, activity_id",
        organisation_id,
        status.value if status else None,
    )
    return [_activity(row) for row in rows]


def save_activity(conn: DeferringConnection, activity: Activity) -> None:
    conn.defer(
        """
        INSERT INTO activities (activity_id, organisation_id, title, description, criteria,
                                status, version, created_at, updated_at, published_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (activity_id) DO UPDATE SET
            title = EXCLUDED.title, description = EXCLUDED.description,
            criteria = EXCLUDED.criteria, status = EXCLUDED.status, version = EXCLUDED.version,
            updated_at = EXCLUDED.updated_at, published_at = EXCLUDED.published_at
        """,
        activity.activity_id,
        activity.organisation_id,
        activity.title,
        activity.description,
        activity.criteria,
        activity.status.value,
        activity.version,
        activity.created_at,
        activity.updated_at,
        activity.published_at,
    )


async def get_playlist(
    conn: Connection, playlist_id: uuid.UUID, *, lock: bool = False
) -> Playlist | None:
    query = (
        "SELECT * FROM playlists WHERE playlist_id = $1 FOR UPDATE"
        if lock
        else "SELECT * FROM playlists WHERE playlist_id = $1"
    )
    row = await conn.fetchrow(query, playlist_id)
    return _playlist(row) if row else None


async def list_playlists(conn: Connection, organisation_id: uuid.UUID) -> list[Playlist]:
    rows = await conn.fetch(
        "SELECT * FROM playlists WHERE organisation_id = $1 ORDER BY created_at, playlist_id",
        organisation_id,
    )
    return [_playlist(row) for row in rows]


def save_playlist(conn: DeferringConnection, playlist: Playlist) -> None:
    conn.defer(
        """
        INSERT INTO playlists (playlist_id, organisation_id, title, description, activity_ids,
                               status, version, created_at, updated_at, published_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (playlist_id) DO UPDATE SET
            title = EXCLUDED.title, description = EXCLUDED.description,
            activity_ids = EXCLUDED.activity_ids, status = EXCLUDED.status,
            version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,
            published_at = EXCLUDED.published_at
        """,
        playlist.playlist_id,
        playlist.organisation_id,
        playlist.title,
        playlist.description,
        list(playlist.activity_ids),
        playlist.status.value,
        playlist.version,
        playlist.created_at,
        playlist.updated_at,
        playlist.published_at,
    )


async def get_organisation(conn: Connection, organisation_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT * FROM organisations WHERE organisation_id = $1", organisation_id
    )
    return dict(row) if row else None


async def get_organiser(conn: Connection, organiser_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow("SELECT * FROM organisers WHERE organiser_id = $1", organiser_id)
    return dict(row) if row else None
