"""The public catalogue's read model in PostgreSQL: one row per published activity or playlist
(a draft never gets one; archiving removes it), with a weighted full-text vector and a trigram
index for typos, and the badges the badge service made for them. Also the searches over it.

Full-text search: `search_vector` weighs the title (A), description (B), organiser's name (C)
and criteria (D), with the English configuration (stems: "gardening" finds "garden"), ranked
with ts_rank over its GIN index. Typos, as PostgreSQL's pg_trgm documentation suggests: every
word ever published is kept in `catalogue_words` (trigram-indexed); a word asked that is not
one of them is widened to the published words most like it (pg_trgm similarity), so
"gardneing" finds "gardening". Matches of the words as asked rank before the widened ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from services.activity.domain.catalogue import (
    MAP_LIMIT,
    PAGE_SIZE,
    CatalogueBadge,
    CatalogueSearch,
    Kind,
    Mode,
    is_listed,
    query_words,
    widened_query,
)
from services.activity.domain.model import Activity, Playlist
from services.kernel.deferred_writes import DeferringConnection
from services.kernel.store import Connection

if TYPE_CHECKING:
    import asyncpg

# How close a published word must be to a word asked to be taken for what was meant (pg_trgm's
# similarity; 0.3 still takes "webiste" for "website", two letters swapped in seven).
TYPO_SIMILARITY = 0.3
# At most this many published words stand in for one word asked.
ALTERNATIVES = 3

# pg_trgm lives in a schema of its own, made once per database: the services' connections see
# only their own schema, and a test that drops a service's schema must not drop the extension
# under everyone else. Its functions and operators are named with the schema it is in.
CATALOGUE_DDL = """
CREATE TABLE IF NOT EXISTS catalogue_entries (
    entry_id uuid PRIMARY KEY,
    kind text NOT NULL,
    organisation_id uuid NOT NULL,
    organisation_name text NOT NULL DEFAULT '',
    title text NOT NULL,
    description text NOT NULL,
    criteria text NOT NULL,
    starts_at timestamptz,
    ends_at timestamptz,
    online boolean NOT NULL DEFAULT false,
    place_name text,
    place_address text,
    latitude double precision,
    longitude double precision,
    language text,
    image_url text,
    image_alt text,
    signup_url text,
    activity_ids uuid[] NOT NULL DEFAULT '{}',
    published_at timestamptz NOT NULL,
    search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A')
        || setweight(to_tsvector('english'::regconfig, description), 'B')
        || setweight(to_tsvector('english'::regconfig, organisation_name), 'C')
        || setweight(to_tsvector('english'::regconfig, criteria), 'D')
    ) STORED
);
CREATE INDEX IF NOT EXISTS catalogue_entries_search ON catalogue_entries USING gin (search_vector);
CREATE INDEX IF NOT EXISTS catalogue_entries_by_organisation
    ON catalogue_entries (organisation_id, published_at);
CREATE INDEX IF NOT EXISTS catalogue_entries_published ON catalogue_entries (published_at);
CREATE INDEX IF NOT EXISTS catalogue_entries_on_the_map ON catalogue_entries (latitude, longitude)
    WHERE latitude IS NOT NULL AND NOT online;
CREATE TABLE IF NOT EXISTS catalogue_badges (
    badge_class_id uuid PRIMARY KEY,
    source_kind text NOT NULL,
    source_id uuid NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    criteria text NOT NULL,
    evidence_mode text NOT NULL,
    open_link boolean NOT NULL,
    task_titles text[] NOT NULL
);
CREATE INDEX IF NOT EXISTS catalogue_badges_by_source ON catalogue_badges (source_id);
CREATE TABLE IF NOT EXISTS catalogue_words (word text PRIMARY KEY);
DO $$
DECLARE
    found text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('open-badges extension pg_trgm'));
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE SCHEMA IF NOT EXISTS trgm;
        CREATE EXTENSION pg_trgm SCHEMA trgm;
    END IF;
    SELECT extnamespace::regnamespace::text INTO found FROM pg_extension WHERE extname = 'pg_trgm';
    EXECUTE format(
        'CREATE INDEX IF NOT EXISTS catalogue_words_typos ON catalogue_words '
        'USING gin (word %s.gin_trgm_ops)', found);
END
$$;
"""

CATALOGUE_TABLES = ("catalogue_entries", "catalogue_badges", "catalogue_words")

_TRGM_SCHEMA = (
    "SELECT extnamespace::regnamespace::text AS schema FROM pg_extension WHERE extname = 'pg_trgm'"
)


# -- writes (projections) ---------------------------------------------------------------------


def _upsert(columns: tuple[str, ...]) -> str:
    names = ", ".join(columns)
    values = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[1:])
    # The organiser's name is the organisation's, when its event is already applied (they
    # are on different partitions); `name_organisation` fills it in when it comes later.
    return (
        f"INSERT INTO catalogue_entries ({names}, organisation_name) "  # noqa: S608
        f"SELECT {values}, "
        "COALESCE((SELECT name FROM organisations WHERE organisation_id = $3), '') "
        f"ON CONFLICT (entry_id) DO UPDATE SET {updates}"
    )


_ACTIVITY_COLUMNS = (
    "entry_id",
    "kind",
    "organisation_id",
    "title",
    "description",
    "criteria",
    "starts_at",
    "ends_at",
    "online",
    "place_name",
    "place_address",
    "latitude",
    "longitude",
    "language",
    "image_url",
    "image_alt",
    "signup_url",
    "published_at",
)
_PLAYLIST_COLUMNS = (
    "entry_id",
    "kind",
    "organisation_id",
    "title",
    "description",
    "criteria",
    "activity_ids",
    "published_at",
)
_UPSERT_ACTIVITY = _upsert(_ACTIVITY_COLUMNS)
_UPSERT_PLAYLIST = _upsert(_PLAYLIST_COLUMNS)
_UNLIST = "DELETE FROM catalogue_entries WHERE entry_id = $1"
# The words of what is published, as the 'simple' configuration splits them (lower case, not
# stemmed): a union over the log, so replay in any order gives the same set. A word stays once
# published; it only ever widens a search, which still finds only what is published now.
_KEEP_WORDS = (
    "INSERT INTO catalogue_words (word) "
    "SELECT DISTINCT w FROM unnest(tsvector_to_array(to_tsvector('simple', $1))) AS w "
    "WHERE length(w) BETWEEN 3 AND 40 ON CONFLICT DO NOTHING"
)


def list_activity(conn: DeferringConnection, activity: Activity) -> None:
    """The activity as the catalogue shows it, or out of the catalogue if not published."""
    if not is_listed(activity):
        conn.defer(_UNLIST, activity.activity_id)
        return
    place, image = activity.place, activity.image
    conn.defer(
        _UPSERT_ACTIVITY,
        activity.activity_id,
        Kind.ACTIVITY.value,
        activity.organisation_id,
        activity.title,
        activity.description,
        activity.criteria,
        activity.starts_at,
        activity.ends_at,
        activity.online,
        place.name if place else None,
        place.address if place else None,
        place.latitude if place else None,
        place.longitude if place else None,
        activity.language,
        image.url if image else None,
        image.alt if image else None,
        activity.signup_url,
        activity.published_at,
    )
    conn.defer(_KEEP_WORDS, f"{activity.title} {activity.description} {activity.criteria}")


def list_playlist(conn: DeferringConnection, playlist: Playlist) -> None:
    if not is_listed(playlist):
        conn.defer(_UNLIST, playlist.playlist_id)
        return
    conn.defer(
        _UPSERT_PLAYLIST,
        playlist.playlist_id,
        Kind.PLAYLIST.value,
        playlist.organisation_id,
        playlist.title,
        playlist.description,
        "",
        list(playlist.activity_ids),
        playlist.published_at,
    )
    conn.defer(_KEEP_WORDS, f"{playlist.title} {playlist.description}")


def name_organisation(conn: DeferringConnection, organisation_id: uuid.UUID, name: str) -> None:
    conn.defer(
        "UPDATE catalogue_entries SET organisation_name = $2 WHERE organisation_id = $1",
        organisation_id,
        name,
    )
    # Kept whether or not it has published yet: its name is public in its badges' Issuer.
    conn.defer(_KEEP_WORDS, name)


def save_badge(conn: DeferringConnection, badge: CatalogueBadge) -> None:
    conn.defer(
        """
        INSERT INTO catalogue_badges (badge_class_id, source_kind, source_id, name, description,
                                      criteria, evidence_mode, open_link, task_titles)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (badge_class_id) DO UPDATE SET
            name = EXCLUDED.name, description = EXCLUDED.description,
            criteria = EXCLUDED.criteria, evidence_mode = EXCLUDED.evidence_mode,
            open_link = EXCLUDED.open_link, task_titles = EXCLUDED.task_titles
        """,
        badge.badge_class_id,
        badge.source_kind,
        badge.source_id,
        badge.name,
        badge.description,
        badge.criteria,
        badge.evidence_mode,
        badge.open_link,
        list(badge.task_titles),
    )


async def get_badge(conn: Connection, badge_class_id: uuid.UUID) -> CatalogueBadge | None:
    row = await conn.fetchrow(
        "SELECT * FROM catalogue_badges WHERE badge_class_id = $1", badge_class_id
    )
    return _badge(row) if row else None


def _badge(row: Any) -> CatalogueBadge:
    return CatalogueBadge(**{**dict(row), "task_titles": tuple(row["task_titles"])})


# -- queries ----------------------------------------------------------------------------------

ENTRY_COLUMNS = (
    "entry_id, kind, organisation_id, organisation_name, title, description, criteria, "
    "starts_at, ends_at, online, place_name, place_address, latitude, longitude, language, "
    "image_url, image_alt, signup_url, activity_ids, published_at"
)


# What the map and the list beside it show of each activity (no long texts: up to 500 of them).
MAP_COLUMNS = (
    "entry_id, kind, organisation_id, organisation_name, title, starts_at, ends_at, online, "
    "place_name, place_address, latitude, longitude, language, activity_ids"
)


@dataclass(frozen=True)
class Query:
    """SQL and its arguments, built apart from running them (so tests read what is asked)."""

    sql: str
    args: tuple[Any, ...]


def _filters(search: CatalogueSearch, args: list[Any], widened: str | None) -> list[str]:
    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    where: list[str] = []
    if search.text:
        text = arg(search.text)
        match = f"search_vector @@ websearch_to_tsquery('english', {text})"
        if widened:
            match = f"({match} OR search_vector @@ to_tsquery('english', {arg(widened)}))"
        where.append(match)
    if search.organisation_id:
        where.append(f"organisation_id = {arg(search.organisation_id)}")
    if search.kind:
        where.append(f"kind = {arg(search.kind.value)}")
    if search.only_activities and search.kind is None:
        where.append("kind = 'activity'")
    if search.mode is Mode.ONLINE:
        where.append("online")
    elif search.mode is Mode.IN_PERSON:
        where.append("NOT online AND place_name IS NOT NULL")
    if search.from_instant:
        where.append(f"COALESCE(ends_at, starts_at) >= {arg(search.from_instant)}")
    if search.until_instant:
        where.append(f"COALESCE(starts_at, ends_at) < {arg(search.until_instant)}")
    if search.bbox:
        box = search.bbox
        where.append(
            f"latitude BETWEEN {arg(box.south)} AND {arg(box.north)} "
            f"AND longitude BETWEEN {arg(box.west)} AND {arg(box.east)}"
        )
    return where


def _ordering(search: CatalogueSearch, widened: str | None) -> str:
    if not search.text:
        return "published_at DESC, entry_id"
    exact = "websearch_to_tsquery('english', $1)"  # the text is always the first argument
    if not widened:
        return f"ts_rank(search_vector, {exact}) DESC, published_at DESC, entry_id"
    # The words as asked first, by rank; then what only the widened words find, by rank.
    return (
        f"(search_vector @@ {exact}) DESC, ts_rank(search_vector, {exact}) DESC, "
        "ts_rank(search_vector, to_tsquery('english', $2)) DESC, published_at DESC, entry_id"
    )


def search_query(search: CatalogueSearch, widened: str | None = None) -> Query:
    """One page of the search, each row with the number of all matches (`total`). `widened`
    is the tsquery of the words asked or their stand-ins (`widened_query`)."""
    args: list[Any] = []
    where = _filters(search, args, widened)
    sql = (
        f"SELECT {ENTRY_COLUMNS}, count(*) OVER () AS total FROM catalogue_entries "  # noqa: S608
        f"{'WHERE ' + ' AND '.join(where) if where else ''} "
        f"ORDER BY {_ordering(search, widened)} LIMIT {PAGE_SIZE} OFFSET {search.offset}"
    )
    return Query(sql, tuple(args))


def map_query(search: CatalogueSearch, widened: str | None = None) -> Query:
    """The in-person activities with a point on the map that the same search finds (any
    page), one more than the map shows so a cut can be told."""
    args: list[Any] = []
    where = [
        *_filters(search, args, widened),
        "kind = 'activity'",
        "NOT online",
        "latitude IS NOT NULL",
        "longitude IS NOT NULL",
    ]
    sql = (
        f"SELECT {MAP_COLUMNS} FROM catalogue_entries WHERE {' AND '.join(where)} "  # noqa: S608
        f"ORDER BY {_ordering(search, widened)} LIMIT {MAP_LIMIT + 1}"
    )
    return Query(sql, tuple(args))


def alternatives_query(trgm: str) -> str:
    """For each word asked ($1, an array) that no published text holds: the published words
    most like it. A word published as asked gets none (it is no typo)."""
    return (
        "SELECT a.word AS asked, s.word AS alternative FROM unnest($1::text[]) AS a(word) "  # noqa: S608
        "CROSS JOIN LATERAL (SELECT w.word FROM catalogue_words w "
        "WHERE NOT EXISTS (SELECT 1 FROM catalogue_words e WHERE e.word = a.word) "
        f"AND w.word OPERATOR({trgm}.%) a.word "
        f"ORDER BY {trgm}.similarity(w.word, a.word) DESC, w.word LIMIT {ALTERNATIVES}) s"
    )


class CatalogueReader:
    """The catalogue's reads, each on a connection of its own from the read pool."""

    def __init__(self, pool: Callable[[], asyncpg.Pool]) -> None:
        self._pool = pool
        self._trgm: str | None = None

    async def trgm_schema(self) -> str:
        if self._trgm is None:
            async with self._pool().acquire() as conn:
                row = await conn.fetchrow(_TRGM_SCHEMA)
            if row is None:
                raise RuntimeError("the pg_trgm extension is not installed in this database")
            self._trgm = str(row["schema"])
        return self._trgm

    async def run(self, query: Query) -> list[dict[str, Any]]:
        async with self._pool().acquire() as conn:
            return [dict(row) for row in await conn.fetch(query.sql, *query.args)]

    async def widened(self, text: str) -> str | None:
        """The tsquery of the words asked or their published stand-ins; None when no word
        asked needs one (the words as asked are the whole search)."""
        words = query_words(text)
        if not words:
            return None
        trgm = await self.trgm_schema()
        async with self._pool().acquire() as conn, conn.transaction():
            # pg_trgm's % operator reads its threshold from this setting; for this query only.
            await conn.execute(
                "SELECT set_config('pg_trgm.similarity_threshold', $1, true)",
                str(TYPO_SIMILARITY),
            )
            rows = await conn.fetch(alternatives_query(trgm), words)
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row["asked"], []).append(row["alternative"])
        return widened_query(words, found) if found else None

    async def _fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        async with self._pool().acquire() as conn:
            return [dict(row) for row in await conn.fetch(sql, *args)]

    async def search(self, search: CatalogueSearch) -> tuple[list[dict[str, Any]], int]:
        """One page of what the search finds, and how many it finds in all."""
        widened = await self.widened(search.text) if search.text else None
        rows = await self.run(search_query(search, widened))
        total = rows[0]["total"] if rows else 0
        if not rows and search.page > 1:
            # Past the last page: count what there is, so the page can say so.
            counted = await self.run(search_query(replace(search, page=1), widened))
            total = counted[0]["total"] if counted else 0
        return rows, total

    async def on_the_map(self, search: CatalogueSearch) -> tuple[list[dict[str, Any]], bool]:
        """The activities to put on the map, and whether there were more than it shows."""
        widened = await self.widened(search.text) if search.text else None
        rows = await self.run(map_query(search, widened))
        return rows[:MAP_LIMIT], len(rows) > MAP_LIMIT

    async def entry(self, kind: Kind, entry_id: uuid.UUID) -> dict[str, Any] | None:
        rows = await self._fetch(
            f"SELECT {ENTRY_COLUMNS} FROM catalogue_entries "  # noqa: S608
            "WHERE entry_id = $1 AND kind = $2",
            entry_id,
            kind.value,
        )
        return rows[0] if rows else None

    async def activities_in_order(self, activity_ids: list[uuid.UUID]) -> list[dict[str, Any]]:
        """The listed ones among `activity_ids`, in that order (one archived since is left out)."""
        return await self._fetch(
            f"SELECT {ENTRY_COLUMNS} FROM catalogue_entries "  # noqa: S608
            "WHERE entry_id = ANY($1::uuid[]) AND kind = 'activity' "
            "ORDER BY array_position($1::uuid[], entry_id)",
            activity_ids,
        )

    async def playlists_with(self, activity_id: uuid.UUID) -> list[dict[str, Any]]:
        return await self._fetch(
            "SELECT entry_id, title FROM catalogue_entries "
            "WHERE kind = 'playlist' AND $1 = ANY(activity_ids) ORDER BY title, entry_id",
            activity_id,
        )

    async def badge_of(self, source_id: uuid.UUID) -> CatalogueBadge | None:
        rows = await self._fetch(
            "SELECT * FROM catalogue_badges WHERE source_id = $1 ORDER BY badge_class_id LIMIT 1",
            source_id,
        )
        return (
            CatalogueBadge(**{**rows[0], "task_titles": tuple(rows[0]["task_titles"])})
            if rows
            else None
        )

    async def organisation(self, organisation_id: uuid.UUID) -> dict[str, Any] | None:
        rows = await self._fetch(
            "SELECT organisation_id, name, url FROM organisations WHERE organisation_id = $1",
            organisation_id,
        )
        return rows[0] if rows else None

    async def organisers(self) -> list[dict[str, Any]]:
        """The organisations with something published, by name (the organiser filter)."""
        return await self._fetch(
            "SELECT DISTINCT organisation_id, organisation_name FROM catalogue_entries "
            "ORDER BY organisation_name, organisation_id LIMIT 500"
        )

    async def of_organisation(self, organisation_id: uuid.UUID) -> list[dict[str, Any]]:
        return await self._fetch(
            f"SELECT {ENTRY_COLUMNS} FROM catalogue_entries "  # noqa: S608
            "WHERE organisation_id = $1 ORDER BY kind DESC, starts_at NULLS LAST, title, entry_id",
            organisation_id,
        )
