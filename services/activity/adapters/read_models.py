"""The activity service's tables in PostgreSQL: read models that are also the state decisions
are made from (always re-derivable from `activity.events`). Commands read them under the
aggregate's stream lock (`UnitOfWork.lock_stream`), never with row locks of their own."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from contracts.activity import ActivityImage, Place
from contracts.organiser_keys import key_prefix
from services.activity.adapters.catalogue import CATALOGUE_DDL, CATALOGUE_TABLES
from services.activity.domain.model import Activity, Playlist, Status
from services.activity.domain.organisations import Organisation
from services.activity.domain.organisers import Key, Member
from services.activity.domain.sign_in import SignInRequest
from services.kernel.deferred_writes import DeferringConnection
from services.kernel.store import Connection
from services.kernel.unit_of_work import UnitOfWork
from services.organiser_access import ORGANISER_KEYS_DDL

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
ALTER TABLE organisers ADD COLUMN IF NOT EXISTS made_admin boolean NOT NULL DEFAULT false;
ALTER TABLE organisers ADD COLUMN IF NOT EXISTS removed_at timestamptz;
ALTER TABLE activities ADD COLUMN IF NOT EXISTS starts_at timestamptz;
ALTER TABLE activities ADD COLUMN IF NOT EXISTS ends_at timestamptz;
ALTER TABLE activities ADD COLUMN IF NOT EXISTS place_name text;
ALTER TABLE activities ADD COLUMN IF NOT EXISTS place_address text;
ALTER TABLE activities ADD COLUMN IF NOT EXISTS place_latitude double precision;
ALTER TABLE activities ADD COLUMN IF NOT EXISTS place_longitude double precision;
ALTER TABLE activities ADD COLUMN IF NOT EXISTS online boolean NOT NULL DEFAULT false;
ALTER TABLE activities ADD COLUMN IF NOT EXISTS language text;
ALTER TABLE activities ADD COLUMN IF NOT EXISTS image_url text;
ALTER TABLE activities ADD COLUMN IF NOT EXISTS image_alt text;
ALTER TABLE activities ADD COLUMN IF NOT EXISTS signup_url text;
CREATE INDEX IF NOT EXISTS organisers_by_organisation ON organisers (organisation_id, created_at);
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
CREATE INDEX IF NOT EXISTS organisers_by_email ON organisers (lower(email));
CREATE TABLE IF NOT EXISTS organiser_sign_ins (
    request_id uuid PRIMARY KEY,
    organiser_id uuid NOT NULL,
    organisation_id uuid NOT NULL,
    requested_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
"""
    + ORGANISER_KEYS_DDL
    + CATALOGUE_DDL
)

CHECKSUM_TABLES = (
    "organisations",
    "organisers",
    "organiser_keys",
    "activities",
    "playlists",
    "organiser_sign_ins",
    *CATALOGUE_TABLES,
)


_PLACE = ("place_name", "place_address", "place_latitude", "place_longitude")
_IMAGE = ("image_url", "image_alt")


def _activity(row: asyncpg.Record) -> Activity:
    fields = {k: v for k, v in dict(row).items() if k not in _PLACE + _IMAGE}
    name, address, latitude, longitude = (row[column] for column in _PLACE)
    place = (
        Place(name=name, address=address, latitude=latitude, longitude=longitude)
        if name is not None
        else None
    )
    image = (
        ActivityImage(url=row["image_url"], alt=row["image_alt"])
        if row["image_url"] is not None
        else None
    )
    return Activity(**{**fields, "status": Status(row["status"]), "place": place, "image": image})


def _playlist(row: asyncpg.Record) -> Playlist:
    return Playlist(
        **{**dict(row), "status": Status(row["status"]), "activity_ids": tuple(row["activity_ids"])}
    )


async def get_activity(conn: Connection, activity_id: uuid.UUID) -> Activity | None:
    row = await conn.fetchrow("SELECT * FROM activities WHERE activity_id = $1", activity_id)
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
                                status, version, created_at, updated_at, published_at,
                                starts_at, ends_at, place_name, place_address, place_latitude,
                                place_longitude, online, language, image_url, image_alt,
                                signup_url)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
                $19, $20, $21)
        ON CONFLICT (activity_id) DO UPDATE SET
            title = EXCLUDED.title, description = EXCLUDED.description,
            criteria = EXCLUDED.criteria, status = EXCLUDED.status, version = EXCLUDED.version,
            updated_at = EXCLUDED.updated_at, published_at = EXCLUDED.published_at,
            starts_at = EXCLUDED.starts_at, ends_at = EXCLUDED.ends_at,
            place_name = EXCLUDED.place_name, place_address = EXCLUDED.place_address,
            place_latitude = EXCLUDED.place_latitude, place_longitude = EXCLUDED.place_longitude,
            online = EXCLUDED.online, language = EXCLUDED.language,
            image_url = EXCLUDED.image_url, image_alt = EXCLUDED.image_alt,
            signup_url = EXCLUDED.signup_url
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
        activity.starts_at,
        activity.ends_at,
        *(
            (place.name, place.address, place.latitude, place.longitude)
            if (place := activity.place)
            else (None,) * 4
        ),
        activity.online,
        activity.language,
        *((image.url, image.alt) if (image := activity.image) else (None, None)),
        activity.signup_url,
    )


async def get_playlist(conn: Connection, playlist_id: uuid.UUID) -> Playlist | None:
    row = await conn.fetchrow("SELECT * FROM playlists WHERE playlist_id = $1", playlist_id)
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


# An admin is made by `OrganiserAdminRoleGranted`; in logs from before that event existed, the
# organisation's first organiser (its bootstrap organiser) is its admin. Worked out when read,
# so it does not depend on the order replay meets organisers of different partitions in.
_ORGANISER = """
SELECT o.organiser_id, o.organisation_id, o.name, o.email, o.created_at, o.removed_at,
       o.removed_at IS NULL AND (o.made_admin OR o.organiser_id = (
           SELECT f.organiser_id FROM organisers f WHERE f.organisation_id = o.organisation_id
           ORDER BY f.created_at, f.organiser_id LIMIT 1)) AS is_admin
FROM organisers o
"""


async def get_organiser(conn: Connection, organiser_id: uuid.UUID) -> dict[str, Any] | None:
    row = await conn.fetchrow(_ORGANISER + "WHERE o.organiser_id = $1", organiser_id)
    return dict(row) if row else None


def _member(row: Any) -> Member:
    return Member(
        organiser_id=row["organiser_id"],
        organisation_id=row["organisation_id"],
        name=row["name"],
        email=row["email"],
        is_admin=row["is_admin"],
        removed=row["removed_at"] is not None,
    )


async def get_member(conn: Connection, organiser_id: uuid.UUID) -> Member | None:
    row = await get_organiser(conn, organiser_id)
    return _member(row) if row else None


async def list_organisers(conn: Connection, organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    """The organisation's current organisers, first added first."""
    rows = await conn.fetch(
        _ORGANISER + "WHERE o.organisation_id = $1 AND o.removed_at IS NULL "
        "ORDER BY o.created_at, o.organiser_id",
        organisation_id,
    )
    return [dict(row) for row in rows]


def _key(row: Any) -> Key:
    return Key(
        row["key_id"],
        row["organiser_id"],
        row["organisation_id"],
        row["revoked"],
        purpose=row["purpose"],
        expires_at=row["expires_at"],
    )


async def get_key(conn: Connection, key_id: str) -> Key | None:
    row = await conn.fetchrow("SELECT * FROM organiser_keys WHERE key_id = $1", key_id)
    return _key(row) if row else None


async def keys_of(conn: Connection, organiser_id: uuid.UUID) -> list[Key]:
    rows = await conn.fetch(
        "SELECT * FROM organiser_keys WHERE organiser_id = $1 ORDER BY key_id", organiser_id
    )
    return [_key(row) for row in rows]


async def organisers_with_email(
    conn: Connection, email: str, added_by: datetime | None = None
) -> list[Member]:
    rows = await conn.fetch(
        _ORGANISER + "WHERE lower(o.email) = lower($1) "
        "AND ($2::timestamptz IS NULL OR o.created_at <= $2) ORDER BY o.organiser_id",
        email,
        added_by,
    )
    return [_member(row) for row in rows]


async def get_sign_in_request(conn: Connection, request_id: uuid.UUID) -> SignInRequest | None:
    row = await conn.fetchrow("SELECT * FROM organiser_sign_ins WHERE request_id = $1", request_id)
    if row is None:
        return None
    return SignInRequest(
        row["request_id"],
        row["organiser_id"],
        row["organisation_id"],
        row["expires_at"],
        used=row["used_at"] is not None,
    )


async def list_keys(conn: Connection, organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    """The organisation's keys as they may be shown: never the secret or its hash."""
    rows = await conn.fetch(
        "SELECT k.key_id, k.organiser_id, o.name AS organiser_name, k.issued_at, k.revoked, "
        "k.revoked_at, k.purpose, k.expires_at, k.started_from "
        "FROM organiser_keys k LEFT JOIN organisers o USING (organiser_id) "
        "WHERE k.organisation_id = $1 ORDER BY k.issued_at NULLS FIRST, k.key_id",
        organisation_id,
    )
    return [{"prefix": key_prefix(row["key_id"]), **dict(row)} for row in rows]


class PostgresState:
    """The state port (`services.activity.state.ActivityState`) over a unit of work's
    connection: what a command reads is what its own transaction sees."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @classmethod
    def of(cls, uow: UnitOfWork) -> PostgresState:
        return cls(uow.conn)

    async def organisation(self, organisation_id: uuid.UUID) -> Organisation | None:
        row = await get_organisation(self._conn, organisation_id)
        return Organisation(**row) if row else None

    async def member(self, organiser_id: uuid.UUID) -> Member | None:
        return await get_member(self._conn, organiser_id)

    async def key(self, key_id: str) -> Key | None:
        return await get_key(self._conn, key_id)

    async def keys_of(self, organiser_id: uuid.UUID) -> list[Key]:
        return await keys_of(self._conn, organiser_id)

    async def organisers_with_email(
        self, email: str, added_by: datetime | None = None
    ) -> list[Member]:
        return await organisers_with_email(self._conn, email, added_by)

    async def sign_in_request(self, request_id: uuid.UUID) -> SignInRequest | None:
        return await get_sign_in_request(self._conn, request_id)

    async def activity(self, activity_id: uuid.UUID) -> Activity | None:
        return await get_activity(self._conn, activity_id)

    async def activities(self, activity_ids: tuple[uuid.UUID, ...]) -> dict[uuid.UUID, Activity]:
        return await get_activities(self._conn, activity_ids)

    async def playlist(self, playlist_id: uuid.UUID) -> Playlist | None:
        return await get_playlist(self._conn, playlist_id)
