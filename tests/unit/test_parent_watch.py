"""A service started with PARENT_PID stops once that process is no longer its parent."""

from __future__ import annotations

import asyncio
import os

import pytest

from services.kernel import parent


async def test_returns_once_the_parent_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parent.PARENT_PID, "4242")
    parents = iter([4242, 4242, 1])
    monkeypatch.setattr(os, "getppid", lambda: next(parents))
    await asyncio.wait_for(parent.parent_gone(poll_seconds=0), timeout=1)


async def test_waits_while_the_parent_lives(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(parent.PARENT_PID, "4242")
    monkeypatch.setattr(os, "getppid", lambda: 4242)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(parent.parent_gone(poll_seconds=0), timeout=0.05)


async def test_watches_nothing_without_a_parent_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(parent.PARENT_PID, raising=False)
    monkeypatch.setattr(os, "getppid", lambda: 1)
    assert parent.watched_parent() is None
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(parent.parent_gone(poll_seconds=0), timeout=0.05)
