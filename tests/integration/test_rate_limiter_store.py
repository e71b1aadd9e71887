"""The limiter's counters in the real PostgreSQL: two instances (two pools) share them, a burst
is cut at the limit exactly, a refused request uses up no other limit, and a window ends."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.kernel import store
from services.kernel.rate_limits import Limit, RateLimiter, RateLimitSettings


@pytest.fixture
async def limiters(infra) -> AsyncIterator[tuple[RateLimiter, RateLimiter]]:
    schema = f"t{uuid.uuid4().hex[:10]}_limits"
    pools = [await store.create_pool(infra.database_url, schema) for _ in range(2)]
    try:
        yield RateLimiter(pools[0], RateLimitSettings()), RateLimiter(pools[1], RateLimitSettings())
    finally:
        for pool in pools:
            await pool.close()
        conn = await asyncpg.connect(infra.database_url)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


async def test_two_instances_share_one_limit_under_a_burst(limiters):
    one, two = limiters
    waits = await asyncio.gather(
        *(
            (one if n % 2 else two).take(
                [Limit("address:ana@example.org", 3, 600), Limit(f"client:{n}", 20, 600)]
            )
            for n in range(60)
        )
    )
    assert waits.count(0) == 3
    assert all(540 < wait <= 600 for wait in waits if wait)


async def test_a_refused_request_counts_against_no_other_limit(limiters):
    one, _ = limiters
    link = Limit("link:badge-1", 5, 3600)
    assert await one.take([Limit("client:mallory", 2, 600), link]) == 0
    assert await one.take([Limit("client:mallory", 2, 600), link]) == 0
    for _ in range(20):
        assert await one.take([Limit("client:mallory", 2, 600), link]) > 0
    # The link still has 3 of its 5 left for everyone else.
    allowed = [await one.take([Limit(f"client:{n}", 2, 600), link]) for n in range(5)]
    assert allowed == [0, 0, 0, allowed[3], allowed[4]] and allowed[3] > 0


async def test_a_window_ends_and_the_counter_starts_again(limiters):
    one, _ = limiters
    short = [Limit("address:bo@example.org", 1, 1)]
    assert await one.take(short) == 0
    assert await one.take(short) == 1
    await asyncio.sleep(1.1)
    assert await one.take(short) == 0
