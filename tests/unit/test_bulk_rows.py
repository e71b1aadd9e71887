"""Catching up's writes folded into one row per key and sent by COPY: the rows left behind are
those the statements would leave one after the other, a write it cannot take keeps its place,
and rows PostgreSQL refuses are written by their statements instead."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from services.kernel.bulk_rows import RowFolder, Table, parse
from services.kernel.deferred_writes import DeferringConnection
from tests.support_connections import RecordingConnection

TABLES = {
    "activities": Table(("activity_id",), {"activity_id": "uuid", "title": "text", "n": "integer"}),
    "tags": Table(("activity_id", "tag"), {"activity_id": "uuid", "tag": "text", "doc": "jsonb"}),
}
ADDED = "INSERT INTO activities (activity_id, title) VALUES ($1, $2) ON CONFLICT DO NOTHING"
LISTED = (
    "INSERT INTO activities (activity_id, title, n) VALUES ($1, $2, $3) "
    "ON CONFLICT (activity_id) DO UPDATE SET title = EXCLUDED.title"
)
TAGGED = "INSERT INTO tags (activity_id, tag, doc) VALUES ($1, $2, $3::jsonb)"
RENAMED = "UPDATE activities SET title = $2 WHERE activity_id = $1"


class _Copying(RecordingConnection):
    """Records what is sent; refuses a COPY into the tables named in `refuse`."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        super().__init__()
        self.refuse = refuse

    async def copy_records_to_table(
        self, table_name: str, *, records: Any, columns: Any = None
    ) -> str:
        if table_name in self.refuse:
            raise asyncpg.UniqueViolationError("duplicate key")
        self.sent.append((f"COPY {table_name} {tuple(columns)}", list(records)))
        return "COPY"

    @contextlib.asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[None]:
        yield

    def transaction(self) -> Any:
        return self._savepoint()


def test_only_plain_writes_of_whole_rows_by_their_key_are_folded() -> None:
    added = parse(ADDED, TABLES)
    assert added is not None and added.on_conflict == "nothing"
    listed = parse(LISTED, TABLES)
    assert listed is not None and listed.on_conflict == "update" and listed.updates == (1,)
    tagged = parse(TAGGED, TABLES)
    assert tagged is not None and tagged.on_conflict == "error" and tagged.key == (0, 1)
    for refused in (
        RENAMED,
        # A literal, a cast to another type, an expression, a condition, another target.
        "INSERT INTO activities (activity_id, title) VALUES ($1, 'x') ON CONFLICT DO NOTHING",
        "INSERT INTO activities (activity_id, n) VALUES ($1, $2::bigint)",
        "INSERT INTO activities (activity_id, n) VALUES ($1, $2) "
        "ON CONFLICT (activity_id) DO UPDATE SET n = activities.n + 1",
        "INSERT INTO activities (activity_id, n) VALUES ($1, $2) "
        "ON CONFLICT (activity_id) DO UPDATE SET n = EXCLUDED.n WHERE activities.n < 3",
        "INSERT INTO activities (activity_id, title) VALUES ($1, $2) "
        "ON CONFLICT (title) DO NOTHING",
        # No key among the columns; a table without a known key.
        "INSERT INTO activities (title) VALUES ($1)",
        "INSERT INTO offers (offer_id) VALUES ($1) ON CONFLICT DO NOTHING",
    ):
        assert parse(refused, TABLES) is None, refused


async def test_successive_writes_of_one_key_leave_its_last_row_and_go_as_one_copy() -> None:
    sent = _Copying()
    conn = DeferringConnection(sent, RowFolder(TABLES, copy_from=1))
    conn.defer(LISTED, 1, "first", 10)
    conn.defer(ADDED, 2, "other")
    conn.defer(LISTED, 1, "second", 99)  # sets the title only, as DO UPDATE SET says
    conn.defer(ADDED, 1, "ignored")  # the row is there: nothing
    conn.defer(TAGGED, 1, "green", '{"a": 1}')
    await conn.flush()
    assert sent.sent == [
        ("COPY activities ('activity_id', 'title', 'n')", [(1, "second", 10)]),
        ("COPY activities ('activity_id', 'title')", [(2, "other")]),
        ("COPY tags ('activity_id', 'tag', 'doc')", [(1, "green", '{"a": 1}')]),
    ]


async def test_a_write_it_cannot_fold_sends_the_rows_of_its_table_in_front_of_it() -> None:
    sent = _Copying()
    conn = DeferringConnection(sent, RowFolder(TABLES, copy_from=1))
    conn.defer(LISTED, 1, "first", 10)
    conn.defer(LISTED, 1, "second", 11)
    conn.defer(TAGGED, 1, "green", "{}")
    conn.defer(RENAMED, 1, "third")
    conn.defer(ADDED, 2, "after")
    await conn.flush()
    assert sent.sent == [
        (LISTED, [(1, "first", 10), (1, "second", 11)]),
        (RENAMED, [(1, "third")]),
        # Other tables' rows, and this table's written after the rename, by COPY after it.
        ("COPY tags ('activity_id', 'tag', 'doc')", [(1, "green", "{}")]),
        ("COPY activities ('activity_id', 'title')", [(2, "after")]),
    ]


async def test_a_second_insert_of_one_key_is_sent_as_it_is_for_postgresql_to_refuse() -> None:
    sent = _Copying()
    conn = DeferringConnection(sent, RowFolder(TABLES, copy_from=1))
    conn.defer(TAGGED, 1, "green", "{}")
    conn.defer(TAGGED, 1, "green", "{}")
    await conn.flush()
    assert sent.sent == [(TAGGED, [(1, "green", "{}"), (1, "green", "{}")])]


async def test_rows_copy_refuses_are_written_by_their_statements_in_their_order() -> None:
    sent = _Copying(refuse=frozenset({"activities"}))
    folder = RowFolder(TABLES, copy_from=1)
    conn = DeferringConnection(sent, folder)
    conn.defer(LISTED, 1, "first", 10)  # say row 1 was copied by an earlier batch
    conn.defer(ADDED, 2, "other")
    conn.defer(LISTED, 1, "second", 11)
    await conn.flush()
    assert sent.sent == [
        (LISTED, [(1, "first", 10), (1, "second", 11)]),
        (ADDED, [(2, "other")]),
    ]
    assert (folder.copied, folder.refused) == (0, 2)


async def test_a_few_rows_go_by_their_statements() -> None:
    sent = _Copying()
    conn = DeferringConnection(sent, RowFolder(TABLES, copy_from=3))
    conn.defer(ADDED, 1, "A")
    conn.defer(ADDED, 2, "B")
    await conn.flush()
    assert sent.sent == [(ADDED, [(1, "A"), (2, "B")])]
    for n in range(3):
        conn.defer(ADDED, n, "C")
    await conn.flush()
    assert sent.sent[-1] == (
        "COPY activities ('activity_id', 'title')",
        [(0, "C"), (1, "C"), (2, "C")],
    )


async def test_a_read_sends_the_folded_rows_first() -> None:
    sent = _Copying()
    conn = DeferringConnection(sent, RowFolder(TABLES, copy_from=1))
    conn.defer(ADDED, 1, "A")
    await conn.fetch("SELECT * FROM activities")
    assert [sql for sql, _ in sent.sent] == [
        "COPY activities ('activity_id', 'title')",
        "SELECT * FROM activities",
    ]
