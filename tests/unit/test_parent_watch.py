"""A service started with PARENT_PID stops once that process is no longer its parent. The
waits run on virtual time (tests/support_clock.py): a minute of polling takes no time."""

from __future__ import annotations

import asyncio
import os

import pytest

from services.kernel import parent
from tests.support_clock import now, run_in_virtual_time


async def test_returns_once_the_parent_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parent.PARENT_PID, "4242")
    parents = iter([4242, 4242, 1])
    monkeypatch.setattr(os, "getppid", lambda: next(parents))
    await asyncio.wait_for(parent.parent_gone(poll_seconds=0), timeout=1)


def test_waits_while_the_parent_lives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parent.PARENT_PID, "4242")
    asked: list[float] = []

    def getppid() -> int:
        asked.append(now())
        return 4242

    monkeypatch.setattr(os, "getppid", getppid)

    async def a_minute() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(parent.parent_gone(), timeout=60)

    run_in_virtual_time(a_minute())
    assert len(asked) >= 60  # polled each second (the default) all the minute long


def test_watches_nothing_without_a_parent_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(parent.PARENT_PID, raising=False)
    monkeypatch.setattr(os, "getppid", lambda: 1)
    assert parent.watched_parent() is None

    async def a_minute() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(parent.parent_gone(poll_seconds=0), timeout=60)

    run_in_virtual_time(a_minute())
