"""Held writes: sent in their order, a statement's rows together where no write between them
touches the same tables (writes to different tables commute), and always before a read."""

from __future__ import annotations

from services.kernel.deferred_writes import DeferringConnection, tables_of
from tests.support_connections import RecordingConnection

ACTIVITY = "INSERT INTO activities (activity_id, title) VALUES ($1, $2) ON CONFLICT DO NOTHING"
LISTED = (
    "INSERT INTO catalogue (source_id, title) VALUES ($1, $2) "
    "ON CONFLICT (source_id) DO UPDATE SET title = EXCLUDED.title"
)
RENAMED = "UPDATE activities SET title = $2 WHERE activity_id = $1"
COUNTED = (
    "UPDATE badge_classes SET claims = claims + 1 WHERE badge_class_id = $1 AND "
    "(SELECT via FROM offers WHERE offer_id = $2) = 'open_link'"
)
OFFERED = "INSERT INTO offers (offer_id, via) VALUES ($1, $2)"


def test_the_tables_a_statement_names() -> None:
    assert tables_of(LISTED) == frozenset({"catalogue"})
    assert tables_of(COUNTED) == frozenset({"badge_classes", "offers"})
    assert tables_of("INSERT INTO t (a) SELECT * FROM unnest($1::int[])") == frozenset({"t"})
    assert tables_of("SELECT pg_advisory_xact_lock(1)") is None


async def test_alternating_writes_to_two_tables_go_as_one_run_each() -> None:
    recorder = RecordingConnection()
    conn = DeferringConnection(recorder)
    for n in range(3):
        conn.defer(ACTIVITY, n, f"A{n}")
        conn.defer(LISTED, n, f"A{n}")
    await conn.flush()
    assert recorder.sent == [
        (ACTIVITY, [(0, "A0"), (1, "A1"), (2, "A2")]),
        (LISTED, [(0, "A0"), (1, "A1"), (2, "A2")]),
    ]


async def test_a_write_never_passes_another_on_the_same_table() -> None:
    recorder = RecordingConnection()
    conn = DeferringConnection(recorder)
    conn.defer(ACTIVITY, 1, "A")
    conn.defer(RENAMED, 1, "B")
    conn.defer(ACTIVITY, 2, "C")  # after the rename: the rename must not see it first
    conn.defer(OFFERED, 7, "open_link")
    conn.defer(COUNTED, 5, 7)
    conn.defer(OFFERED, 8, "email")  # the count read offers: this one stays behind it
    await conn.flush()
    assert recorder.sent == [
        (ACTIVITY, [(1, "A")]),
        (RENAMED, [(1, "B")]),
        (ACTIVITY, [(2, "C")]),
        (OFFERED, [(7, "open_link")]),
        (COUNTED, [(5, 7)]),
        (OFFERED, [(8, "email")]),
    ]


async def test_a_statement_naming_no_table_keeps_its_place_and_a_read_sends_what_is_held() -> None:
    recorder = RecordingConnection()
    conn = DeferringConnection(recorder)
    conn.defer(ACTIVITY, 1, "A")
    conn.defer("SELECT pg_notify('x', $1)", "y")
    conn.defer(ACTIVITY, 2, "B")
    await conn.fetch("SELECT * FROM activities")
    assert [sql for sql, _ in recorder.sent] == [
        ACTIVITY,
        "SELECT pg_notify('x', $1)",
        ACTIVITY,
        "SELECT * FROM activities",
    ]
