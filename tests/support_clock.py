"""An event loop on virtual time, for unit tests of code that waits (timeouts, bounds): the
clock jumps to the next timer instead of sleeping until it, so a test of a 0.8 s wait takes
no time, and what it measures is exact, never stretched by a busy machine."""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _Selector(selectors.DefaultSelector):
    """Looks at the file descriptors without waiting; a wait for a timer moves the clock."""

    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if ready or timeout is None or timeout <= 0:
            return ready if ready or timeout is not None else super().select(None)
        self._loop.advance(timeout)
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._now = 0.0
        super().__init__(_Selector(self))

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


def run_in_virtual_time(work: Coroutine[Any, Any, T]) -> T:
    """Run `work` to its end on a loop of its own whose clock starts at 0."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(work)


def now() -> float:
    """The running loop's clock: the virtual time inside `run_in_virtual_time`."""
    return asyncio.get_running_loop().time()
