"""A transaction's connection that lets projections' plain writes wait and go together.

Replaying thousands of events one round trip each spends its time waiting on PostgreSQL.
Writes given to `defer` are held and sent as one pipelined `executemany` per statement; any
read or direct statement first sends what is held, so handlers always read their own writes.

Held writes go in their order, except that a write joins the last run of the same statement
when no write between touches a table it touches: writes to different tables commute (the
read models have no triggers and no foreign keys), so a replay's alternating writes (an
activity's row, then its catalogue entry, then the next activity's row) go as two
`executemany`s, not as one round trip each.

Given a `RowFolder` (while catching up), the writes it can take are folded into rows and sent
by COPY after the other held writes (see bulk_rows); a write it cannot take first turns the
rows of the tables it touches back into their writes, held in front of it.
"""

from __future__ import annotations

import re
from typing import Any, cast

from services.kernel.bulk_rows import CopyingConnection, RowFolder
from services.kernel.store import Connection

# A table a statement names: after INTO or UPDATE (not the SET of `ON CONFLICT ... DO UPDATE
# SET`), and after FROM or JOIN unless it is a function's call (`FROM unnest(...)`).
_WRITTEN = re.compile(r"\b(?:INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)
_READ = re.compile(r"\b(?:FROM|JOIN)\s+\"?(\w+)\b\"?(?!\s*\()", re.IGNORECASE)
_NOT_TABLES = frozenset({"set"})


def tables_of(sql: str) -> frozenset[str] | None:
    """The tables `sql` names, or None when it names none this can see (it then goes
    exactly where it was, in front of and behind everything)."""
    names = _WRITTEN.findall(sql) + _READ.findall(sql)
    found = frozenset(name.lower() for name in names) - _NOT_TABLES
    return found or None


class _Run:
    __slots__ = ("rows", "sql", "tables")

    def __init__(self, sql: str, tables: frozenset[str] | None) -> None:
        self.sql = sql
        self.tables = tables
        self.rows: list[tuple[Any, ...]] = []


class DeferringConnection:
    def __init__(self, conn: Connection, folder: RowFolder | None = None) -> None:
        self._conn = conn
        # Only with a connection that can COPY (asyncpg's).
        self._folder = folder
        self._runs: list[_Run] = []
        self._tables: dict[str, frozenset[str] | None] = {}
        # What a projection saved in this transaction, under a key of its own (the table and
        # the row's id), for the next event of the same stream in the batch: read here, it
        # costs no round trip and sends nothing held. Only for rows that projection alone
        # writes, whole, as it keeps them here.
        self.saved: dict[tuple[str, Any], Any] = {}

    def defer(self, sql: str, *args: Any) -> None:
        """Hold a write that returns nothing; it is sent before the next read or the commit."""
        folder = self._folder
        if folder is not None:
            if folder.fold(sql, args):
                return
            touched = self._tables_of(sql)
            for table in folder.tables:
                if touched is None or table in touched:
                    for held_sql, held_args in folder.unfold(table):
                        self._hold(held_sql, held_args)
        self._hold(sql, args)

    def _tables_of(self, sql: str) -> frozenset[str] | None:
        if sql not in self._tables:
            self._tables[sql] = tables_of(sql)
        return self._tables[sql]

    def _hold(self, sql: str, args: tuple[Any, ...]) -> None:
        tables = self._tables_of(sql)
        runs = self._runs
        if tables is not None:
            # The last run of this statement, if nothing after it touches these tables.
            for run in reversed(runs):
                if run.sql == sql:
                    run.rows.append(args)
                    return
                if run.tables is None or run.tables & tables:
                    break
        run = _Run(sql, tables)
        run.rows.append(args)
        runs.append(run)

    async def flush(self) -> None:
        runs, self._runs = self._runs, []
        await self._send(runs)
        if self._folder is not None and self._folder.tables:
            await self._folder.flush(cast(CopyingConnection, self._conn), self._send_writes)

    async def _send(self, runs: list[_Run]) -> None:
        for run in runs:
            if len(run.rows) == 1:
                await self._conn.execute(run.sql, *run.rows[0])
            else:
                await self._conn.executemany(run.sql, run.rows)

    async def _send_writes(self, writes: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Writes in their order, each run of one statement as one executemany."""
        runs: list[_Run] = []
        for sql, args in writes:
            if not runs or runs[-1].sql != sql:
                runs.append(_Run(sql, None))
            runs[-1].rows.append(args)
        await self._send(runs)

    async def execute(self, sql: str, *args: Any) -> str:
        await self.flush()
        return await self._conn.execute(sql, *args)

    async def executemany(self, sql: str, args: Any) -> None:
        await self.flush()
        await self._conn.executemany(sql, args)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        await self.flush()
        return await self._conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        await self.flush()
        return await self._conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        await self.flush()
        return await self._conn.fetchval(sql, *args)
