"""The badge service's policies on the in-memory unit of work, their state kept by `evolve`:
claims, the open link's count, playlists and quests, in milliseconds. The same scenarios run
on PostgreSQL in tests/integration/test_badge_policies.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from contracts.badge import TOPIC
from services.badge.adapters.in_memory import InMemoryBadgeStates
from services.badge.adapters.state import BadgeStates
from services.badge.handlers import policies
from services.badge.policies import Policies
from services.kernel.blob_store import BlobStore
from services.kernel.handlers import Handlers
from services.kernel.in_memory import InMemoryUnitOfWork
from services.kernel.unit_of_work import UnitOfWork
from tests.support_badge_policies import SCENARIOS

Scenario = Callable[[UnitOfWork, BadgeStates], Awaitable[None]]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
async def test_policies_in_memory(scenario: Scenario, tmp_path: Path) -> None:
    states = InMemoryBadgeStates()
    handlers = (
        Handlers()
        .include(states.projections())
        .include(policies(Policies(states.of, BlobStore(tmp_path))))
    )
    uow = InMemoryUnitOfWork(handlers, own_topic=TOPIC)

    await scenario(uow, states)

    # Every decision went to the badge's own stream, each version once.
    for envelope in uow.emitted:
        assert type(envelope.payload).topic == TOPIC
    versions = [(e.stream_id, e.stream_version) for e in uow.emitted]
    assert len(versions) == len(set(versions))
