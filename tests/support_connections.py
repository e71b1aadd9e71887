"""A stand-in for an asyncpg connection that records what is sent to it, for the unit tests of
what the kernel sends to PostgreSQL (held writes, folded rows)."""

from __future__ import annotations

from typing import Any


class RecordingConnection:
    """Keeps every statement sent, with its rows; reads answer nothing."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[tuple[Any, ...]]]] = []

    async def execute(self, query: str, *args: Any) -> str:
        self.sent.append((query, [args]))
        return "OK"

    async def executemany(self, command: str, args: Any) -> None:
        self.sent.append((command, list(args)))

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        self.sent.append((query, [args]))
        return []

    async def fetchrow(self, query: str, *args: Any) -> Any:
        return None

    async def fetchval(self, query: str, *args: Any) -> Any:
        return None
