"""What the catalogue's test modules share."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx


async def sent(request: Callable[[], Awaitable[httpx.Response]], tries: int = 8) -> httpx.Response:
    """A write, tried again while the service answers 503 (Kafka did not take it in time: it
    changed nothing), as its Retry-After says; a shared broker under load does that."""
    for _ in range(tries - 1):
        answer = await request()
        if answer.status_code != 503:
            return answer
        await asyncio.sleep(float(answer.headers.get("retry-after", "2")))
    return await request()
