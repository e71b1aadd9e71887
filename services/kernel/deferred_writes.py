"""A transaction's connection that lets projections' plain writes wait and go together.

Replaying thousands of events one round trip each spends its time waiting on PostgreSQL.
Writes given to `defer` are held and sent as one pipelined `executemany` per run of identical
statements; any read or direct statement first sends what is held, in order, so handlers
always read their own writes.
"""

from __future__ import annotations

import itertools
from typing import Any

from services.kernel.store import Connection


class DeferringConnection:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._held: list[tuple[str, tuple[Any, ...]]] = []
        # What a projection saved in this transaction, under a key of its own (the table and
        # the row's id), for the next event of the same stream in the batch: read here, it
        # costs no round trip and sends nothing held. Only for rows that projection alone
        # writes, whole, as it keeps them here.
        self.saved: dict[tuple[str, Any], Any] = {}

    def defer(self, sql: str, *args: Any) -> None:
        """Hold a write that returns nothing; it is sent before the next read or the commit."""
        self._held.append((sql, args))

    async def flush(self) -> None:
        held, self._held = self._held, []
        for sql, group in itertools.groupby(held, key=lambda write: write[0]):
            rows = [args for _, args in group]
            if len(rows) == 1:
                await self._conn.execute(sql, *rows[0])
            else:
                await self._conn.executemany(sql, rows)

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
