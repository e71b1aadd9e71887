"""The read models' digests say what the rows hold, not how the table came to be: a schema
upgraded by `ALTER TABLE ... ADD COLUMN` and one made fresh with the column in another place
give the same checksum when their rows are equal, and another when one value differs. A
rebuild after an upgrade is checked against the upgraded live schema this way (bench.replay,
`verify`)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.kernel import store

pytestmark = pytest.mark.integration

UPGRADED = """
CREATE TABLE IF NOT EXISTS badges (badge_id uuid PRIMARY KEY, name text NOT NULL);
ALTER TABLE badges ADD COLUMN IF NOT EXISTS closed_at timestamptz;
"""
FRESH = """
CREATE TABLE IF NOT EXISTS badges (
    closed_at timestamptz, badge_id uuid PRIMARY KEY, name text NOT NULL
);
"""


async def _digests(infra: Any, ddl: str, rows: list[tuple[uuid.UUID, str]]) -> tuple[str, str]:
    schema = f"t{uuid.uuid4().hex[:10]}_digests"
    pool = await store.create_pool(infra.database_url, schema, max_size=1)
    try:
        await store.migrate(pool, ddl)
        async with pool.acquire() as conn:
            await conn.executemany("INSERT INTO badges (badge_id, name) VALUES ($1, $2)", rows)
            await conn.execute(
                "UPDATE badges SET closed_at = '2026-12-01T09:00:00Z' WHERE name = 'Sailing'"
            )
        digests = await store.table_digests(pool, ("badges",))
        return digests["badges"], await store.checksum(pool, ("badges",))
    finally:
        async with pool.acquire() as conn:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await pool.close()


async def test_equal_rows_give_one_digest_wherever_a_migration_put_a_column(infra: Any) -> None:
    rows = [(uuid.uuid4(), "Knots"), (uuid.uuid4(), "Sailing")]

    upgraded = await _digests(infra, UPGRADED, rows)
    fresh = await _digests(infra, FRESH, list(reversed(rows)))
    other = await _digests(infra, FRESH, [(rows[0][0], "Knots!"), rows[1]])

    assert upgraded == fresh
    assert upgraded[0].startswith("2:")
    assert other[1] != upgraded[1]
