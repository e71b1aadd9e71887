"""Catching up's held writes folded into one row per key, and sent with COPY.

A replay's projections write rows one event at a time: `INSERT ... ON CONFLICT DO NOTHING`,
or `... ON CONFLICT (key) DO UPDATE SET c = EXCLUDED.c`. Sent as they are, each is a statement
PostgreSQL plans, checks against every index and writes. While catching up, such writes are
instead folded here, per table and primary key, into the row they leave behind (the first
write inserts it; a later DO UPDATE overwrites the columns it sets; a later DO NOTHING changes
nothing), and each table's rows go to PostgreSQL as one COPY.

That is the same outcome as the statements one after the other, as long as no row of the same
key is in the table yet. Where one is (written before this COPY), or a row breaks any other
constraint, COPY refuses the whole table's rows: they are rolled back to a savepoint and the
writes that made them are sent as they were, in their order, and decide as they always do. So
nothing here relies on the table being empty; it is only faster when it is.

Only statements of that exact shape are folded: columns, `$n` parameters (cast only to the
column's own type), and a conflict target that is the primary key (or none, with DO NOTHING).
Anything else that touches a table with rows held here first turns them back into their
statements, in front of it (see DeferringConnection).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import asyncpg

from services.kernel.store import Connection

_INSERT = re.compile(
    r"^\s*INSERT\s+INTO\s+\"?(?P<table>\w+)\"?\s*\((?P<columns>[^()]*)\)\s*"
    r"VALUES\s*\((?P<values>[^()]*)\)\s*"
    r"(?:ON\s+CONFLICT\s*(?:\((?P<target>[^()]*)\))?\s*"
    r"DO\s+(?:(?P<nothing>NOTHING)|UPDATE\s+SET\s+(?P<sets>.*?)))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_PARAMETER = re.compile(r"^\$(\d+)(?:\s*::\s*(.+))?$", re.DOTALL)
_SET = re.compile(r"^\"?(\w+)\"?\s*=\s*EXCLUDED\.\"?(\w+)\"?$", re.IGNORECASE)


class CopyingConnection(Connection, Protocol):
    """A connection that can COPY and take savepoints (asyncpg's)."""

    async def copy_records_to_table(
        self, table_name: str, *, records: Any, columns: Any = None
    ) -> str: ...

    def transaction(self) -> Any: ...


@dataclass(frozen=True)
class Table:
    """What folding needs of a table: its primary key and its columns' types."""

    key: tuple[str, ...]
    types: dict[str, str]


async def tables_of_schema(conn: Connection) -> dict[str, Table]:
    """Every table of the current schema that has a primary key."""
    rows = await conn.fetch(
        "SELECT c.relname AS table, a.attname AS column, "
        "format_type(a.atttypid, a.atttypmod) AS type, "
        "array_position(i.indkey::int2[], a.attnum) AS key_at "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
        "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
    )
    types: dict[str, dict[str, str]] = {}
    keys: dict[str, dict[int, str]] = {}
    for row in rows:
        types.setdefault(row["table"], {})[row["column"]] = row["type"]
        if row["key_at"] is not None:
            keys.setdefault(row["table"], {})[row["key_at"]] = row["column"]
    return {
        table: Table(tuple(keys[table][n] for n in sorted(keys[table])), types[table])
        for table in types
        if table in keys
    }


@dataclass(frozen=True)
class Upsert:
    """A write folding can take: which argument goes into which column, and on conflict."""

    table: str
    columns: tuple[str, ...]
    arguments: tuple[int, ...]  # per column, its index in the statement's arguments
    key: tuple[int, ...]  # the primary key's columns, as indexes into `columns`
    on_conflict: Literal["nothing", "update", "error"]
    updates: tuple[int, ...]  # what DO UPDATE sets, as indexes into `columns`

    def __post_init__(self) -> None:
        object.__setattr__(self, "values_of", _getter(self.arguments))
        object.__setattr__(self, "key_of", _getter(self.key))

    # The row's values from the statement's arguments, and its key from those values.
    values_of: Callable[[tuple[Any, ...]], tuple[Any, ...]] = field(init=False, compare=False)
    key_of: Callable[[tuple[Any, ...]], tuple[Any, ...]] = field(init=False, compare=False)


def _getter(indexes: tuple[int, ...]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    if len(indexes) == 1:
        (n,) = indexes
        return lambda values: (values[n],)
    getter: Callable[[tuple[Any, ...]], tuple[Any, ...]] = operator.itemgetter(*indexes)
    return getter


def parse(sql: str, tables: dict[str, Table]) -> Upsert | None:
    """The write `sql` makes, if folding can take it; else None."""
    found = _INSERT.match(sql)
    if found is None:
        return None
    table = tables.get(found["table"].lower())
    if table is None:
        return None
    columns = tuple(c.strip().strip('"').lower() for c in found["columns"].split(","))
    values = [v.strip() for v in found["values"].split(",")]
    if len(columns) != len(values) or len(set(columns)) != len(columns):
        return None
    arguments = []
    for column, value in zip(columns, values, strict=True):
        parameter = _PARAMETER.match(value)
        if column not in table.types or parameter is None:
            return None
        cast = parameter[2]
        if cast is not None and cast.strip().lower() != table.types[column]:
            return None
        arguments.append(int(parameter[1]) - 1)
    if any(column not in columns for column in table.key):
        return None
    key = tuple(columns.index(column) for column in table.key)
    target = found["target"]
    if target is not None and tuple(c.strip().strip('"').lower() for c in target.split(",")) != (
        table.key
    ):
        return None
    updates: list[int] = []
    if found["sets"] is not None:
        if target is None:
            return None
        for assignment in found["sets"].split(","):
            set_ = _SET.match(assignment.strip())
            if set_ is None or set_[1].lower() != set_[2].lower() or set_[1].lower() not in columns:
                return None
            updates.append(columns.index(set_[1].lower()))
        on_conflict: Literal["nothing", "update", "error"] = "update"
    elif found["nothing"] is not None:
        on_conflict = "nothing"
    elif "ON CONFLICT" in sql.upper():
        return None
    else:
        on_conflict = "error"
    return Upsert(
        found["table"].lower(), columns, tuple(arguments), key, on_conflict, tuple(updates)
    )


@dataclass
class _Row:
    values: dict[str, Any]
    # The writes that made it, in their order: sent as they are if COPY refuses the rows.
    writes: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)


# The consumer's word on a COPY that failed for what the rows hold (a key already there, a
# constraint), not for the connection: those rows are written by their statements instead.
REFUSED_ROWS: tuple[type[BaseException], ...] = (
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.DataError,
    ValueError,
    TypeError,
)


async def copy_rows(
    conn: CopyingConnection, table: str, records: list[tuple[Any, ...]], columns: tuple[str, ...]
) -> bool:
    """COPY the records under a savepoint; False (and nothing written) if PostgreSQL refuses
    them for what they hold (a key already there, a constraint)."""
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(table, records=records, columns=columns)
    except REFUSED_ROWS:
        return False
    return True


# Fewer rows of a table than this go by their statements (see RowFolder.flush).
COPY_FROM = 16


class RowFolder:
    """Rows held per table and key; see the module's doc. `parsed` is a cache of what each
    statement is, to share between folders over the same tables."""

    def __init__(
        self,
        tables: dict[str, Table],
        parsed: dict[str, Upsert | None] | None = None,
        copy_from: int = COPY_FROM,
    ) -> None:
        self._tables = tables
        self._copy_from = copy_from
        self._parsed: dict[str, Upsert | None] = {} if parsed is None else parsed
        self._rows: dict[str, dict[tuple[Any, ...], _Row]] = {}
        self.copied = 0
        self.refused = 0

    def fold(self, sql: str, args: tuple[Any, ...]) -> bool:
        """Hold the write as its row; False if it is not one folding takes (then the caller
        turns this table's rows back into writes first, see `unfold`)."""
        if sql not in self._parsed:
            self._parsed[sql] = parse(sql, self._tables)
        upsert = self._parsed[sql]
        if upsert is None:
            return False
        try:
            values = upsert.values_of(args)
            key = upsert.key_of(values)
            rows = self._rows.get(upsert.table)
            if rows is None:
                rows = self._rows[upsert.table] = {}
            row = rows.get(key)
        except (IndexError, TypeError):
            return False  # too few arguments, or a key that is not hashable: let PostgreSQL say
        if row is None:
            rows[key] = _Row(dict(zip(upsert.columns, values, strict=True)), [(sql, args)])
            return True
        if upsert.on_conflict == "nothing":
            return True  # the row is there: nothing to do, whatever came before
        if upsert.on_conflict == "error":
            return False  # a second insert of one key: PostgreSQL refuses it, as it should
        for n in upsert.updates:
            row.values[upsert.columns[n]] = values[n]
        row.writes.append((sql, args))
        return True

    @property
    def tables(self) -> list[str]:
        return list(self._rows)

    def unfold(self, table: str) -> Iterator[tuple[str, tuple[Any, ...]]]:
        """Give up the table's rows: the writes that made them, a row's in its order."""
        for row in self._rows.pop(table, {}).values():
            yield from row.writes

    async def flush(
        self,
        conn: CopyingConnection,
        send: Callable[[list[tuple[str, tuple[Any, ...]]]], Awaitable[None]],
    ) -> None:
        """COPY every table's rows, each table under a savepoint; a table whose rows are
        refused has its writes sent (through `send`) instead."""
        for table in list(self._rows):
            rows = list(self._rows.pop(table).values())
            if not rows:
                continue
            if len(rows) < self._copy_from:
                # A few rows (sent before a read): their statements take one round trip, a
                # COPY under its savepoint three.
                await send([write for row in rows for write in row.writes])
                continue
            groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
            for row in rows:
                groups.setdefault(tuple(row.values), []).append(tuple(row.values.values()))
            if len(groups) == 1:
                ((columns, records),) = groups.items()
                copied = await copy_rows(conn, table, records, columns)
            else:
                copied = await _copy_groups(conn, table, groups)
            if copied:
                self.copied += len(rows)
            else:
                self.refused += len(rows)
                await send([write for row in rows for write in row.writes])


async def _copy_groups(
    conn: CopyingConnection, table: str, groups: dict[tuple[str, ...], list[tuple[Any, ...]]]
) -> bool:
    try:
        async with conn.transaction():
            for columns, records in groups.items():
                await conn.copy_records_to_table(table, records=records, columns=columns)
    except REFUSED_ROWS:
        return False
    return True
