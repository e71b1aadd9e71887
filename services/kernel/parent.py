"""A service started by a program that watches it ends with that program.

The local runner's attached platforms (the test platforms, the runner in the foreground) put
their own process id in PARENT_PID. When that process dies without stopping its children (a
test run killed by its timeout, say), the service is handed to another parent and would go on
consuming for nobody, holding database connections and a core; instead it sees its parent
change and stops as it would on SIGTERM. Detached platforms (`deploy/local/up.sh`) and
operators' deployments do not set PARENT_PID, and then nothing is watched.
"""

from __future__ import annotations

import asyncio
import os

PARENT_PID = "PARENT_PID"


def watched_parent() -> int | None:
    """The process this service must not outlive, when it was started with one."""
    value = os.environ.get(PARENT_PID, "").strip()
    return int(value) if value.isdigit() else None


async def parent_gone(poll_seconds: float = 1.0) -> None:
    """Returns once the watched parent is gone; never when there is none to watch."""
    parent = watched_parent()
    if parent is None:
        await asyncio.Event().wait()
        return
    # Polled: no event tells a process that its parent died (short of PR_SET_PDEATHSIG, which
    # fires when the starting *thread* ends, too early for a runner that starts from threads).
    while os.getppid() == parent:  # noqa: ASYNC110
        await asyncio.sleep(poll_seconds)
