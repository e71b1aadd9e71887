"""A service's PostgreSQL schema: the kernel's bookkeeping tables beside its read models."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Protocol

import asyncpg


class Connection(Protocol):
    """What read models need of a connection: asyncpg's, pooled or not, or a deferring one."""

    async def execute(self, query: str, *args: Any) -> str: ...
    async def executemany(self, command: str, args: Any) -> None: ...
    async def fetch(self, query: str, *args: Any) -> list[Any]: ...
    async def fetchrow(self, query: str, *args: Any) -> Any: ...
    async def fetchval(self, query: str, *args: Any) -> Any: ...


# What the kernel keeps in every service schema. `applied_events` holds the id of every event
# whose effect is in this schema (and the causes of this service's own derived events), so
# redelivered and re-derived events apply once. `consumer_offsets` is the next offset to read,
# written in the same transaction as the state change it follows. `stream_versions` is the last
# version of each of the service's own aggregates.
KERNEL_DDL = """
CREATE TABLE IF NOT EXISTS applied_events (
    event_id uuid PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS stream_versions (
    stream_id uuid PRIMARY KEY,
    version integer NOT NULL
);
CREATE TABLE IF NOT EXISTS consumer_offsets (
    topic text NOT NULL,
    partition integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
-- When the offset was last stored: readiness tells a stuck consumer from an idle one.
ALTER TABLE consumer_offsets ADD COLUMN IF NOT EXISTS applied_at timestamptz;
-- The instance that last took the partition in the consumer group (for operators).
ALTER TABLE consumer_offsets ADD COLUMN IF NOT EXISTS owner text;
"""

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def quoted(identifier: str) -> str:
    if not _IDENTIFIER.match(identifier):
        raise ValueError(f"not a safe SQL identifier: {identifier!r}")
    return f'"{identifier}"'


async def create_pool(
    database_url: str, schema: str, max_size: int = 10, min_size: int = 1
) -> asyncpg.Pool:
    """A pool whose connections see only this service's schema."""
    await ensure_schema(database_url, schema)
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema},
    )
    assert pool is not None
    return pool


async def ensure_schema(database_url: str, schema: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        # Several services may start at once; the lock keeps CREATE SCHEMA from racing.
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", schema)
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quoted(schema)}")
    finally:
        await conn.close()


# The schemas this service's tables were made for, by the digest of their DDL.
SCHEMA_VERSIONS_DDL = """
CREATE TABLE IF NOT EXISTS schema_versions (
    ddl_sha256 text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
"""


async def migrate(pool: asyncpg.Pool, service_ddl: str) -> None:
    """Create or upgrade the tables, once per version of their DDL.

    An instance that starts beside others of the same version runs no DDL at all: even an
    `ALTER TABLE ... ADD COLUMN IF NOT EXISTS` takes its table's exclusive lock, and taking
    those one table after another while the other instances' transactions hold some of them
    deadlocks those transactions."""
    digest = hashlib.sha256((KERNEL_DDL + service_ddl).encode()).hexdigest()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()))")
        await conn.execute(SCHEMA_VERSIONS_DDL)
        if await conn.fetchval("SELECT true FROM schema_versions WHERE ddl_sha256 = $1", digest):
            return
        await conn.execute(KERNEL_DDL)
        await conn.execute(service_ddl)
        await conn.execute(
            "INSERT INTO schema_versions (ddl_sha256) VALUES ($1) ON CONFLICT DO NOTHING", digest
        )


async def drop_schema(database_url: str, schema: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {quoted(schema)} CASCADE")
    finally:
        await conn.close()


async def offsets_decided(database_url: str, schema: str) -> dict[tuple[str, int], int]:
    """The schema's stored offsets, per (topic, partition); empty when it has none (a schema
    never made, or lost). Up to these, the service that kept the schema decided every record,
    and what it decided is in its log."""
    conn = await asyncpg.connect(database_url)
    try:
        table = await conn.fetchval("SELECT to_regclass($1)", f"{quoted(schema)}.consumer_offsets")
        if table is None:
            return {}
        rows = await conn.fetch(
            f"SELECT topic, partition, next_offset FROM {quoted(schema)}.consumer_offsets"  # noqa: S608
        )
    finally:
        await conn.close()
    return {(row["topic"], row["partition"]): row["next_offset"] for row in rows}


async def table_digests(pool: asyncpg.Pool, tables: tuple[str, ...]) -> dict[str, str]:
    """A stable digest of each read model: every row, in a fixed order.

    Bookkeeping (offsets, applied ids, stream versions) is left out: it says how far the log
    was read, not what the state is.
    """
    digests = {}
    async with pool.acquire() as conn:
        for table in tables:
            # The table name is one of the service's own, checked by quoted().
            # As JSON (keys in jsonb's own order), so a column added by a migration and the
            # same column made by a fresh schema give the same digest, wherever each put it.
            query = (
                f'SELECT to_jsonb(t)::text COLLATE "C" AS row FROM {quoted(table)} t '  # noqa: S608
                "ORDER BY 1"
            )
            rows = await conn.fetch(query)
            digest = hashlib.sha256(f"{table}:{len(rows)}\n".encode())
            for row in rows:
                digest.update(row["row"].encode())
                digest.update(b"\n")
            digests[table] = f"{len(rows)}:{digest.hexdigest()[:16]}"
    return digests


async def checksum(pool: asyncpg.Pool, tables: tuple[str, ...]) -> str:
    """One digest of the service's whole state (see table_digests)."""
    digests = await table_digests(pool, tables)
    return hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()


async def primary_key(conn: Connection, table: str) -> list[str]:
    """The table's primary key columns in order (empty if it has none)."""
    rows = await conn.fetch(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = to_regclass($1) AND i.indisprimary "
        "ORDER BY array_position(i.indkey::int2[], a.attnum)",
        quoted(table),
    )
    return [row["attname"] for row in rows]


async def rows_by_key(conn: Connection, table: str) -> dict[str, dict[str, Any]]:
    """Every row of a read model as JSON, keyed by its primary key (or by the whole row)."""
    key_columns = await primary_key(conn, table)
    # The table name is one of the service's own, checked by quoted().
    query = f"SELECT to_jsonb(t)::text AS row FROM {quoted(table)} t"  # noqa: S608
    found: dict[str, dict[str, Any]] = {}
    for record in await conn.fetch(query):
        row = json.loads(record["row"])
        key = (
            json.dumps([row[c] for c in key_columns])
            if key_columns
            else json.dumps(row, sort_keys=True)
        )
        found[key] = row
    return found


def differing_rows(
    table: str, live: dict[str, dict[str, Any]], rebuilt: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The rows where the live read model and its rebuild disagree, one entry per key."""
    differences = []
    for key in sorted(set(live) | set(rebuilt)):
        mine, theirs = live.get(key), rebuilt.get(key)
        if mine == theirs:
            continue
        changed = (
            sorted(c for c in set(mine) | set(theirs) if mine.get(c) != theirs.get(c))
            if mine is not None and theirs is not None
            else None
        )
        differences.append(
            {
                "table": table,
                "key": json.loads(key),
                "live": mine,
                "rebuilt": theirs,
                "columns": changed,
            }
        )
    return differences
