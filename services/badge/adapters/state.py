"""What the badge service's policies read of its state: one port, two stores.

`read_models.PostgresBadgeStates` reads the projected tables inside the unit of work's
transaction; `in_memory.InMemoryBadgeStates` keeps the same answers in dicts through the
domain's `evolve`, so the policies run in memory in tests, on the same decisions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Protocol

from services.badge.domain.model import BadgeClass, Claim, Holder, Offer
from services.kernel.unit_of_work import UnitOfWork


class BadgeStates(Protocol):
    async def badge_class(self, badge_class_id: uuid.UUID) -> BadgeClass | None: ...

    async def badge_class_for_source(self, source_id: uuid.UUID) -> BadgeClass | None: ...

    async def offer(self, offer_id: uuid.UUID) -> Offer | None: ...

    async def holds_badge(self, badge_class_id: uuid.UUID, email: str) -> bool:
        """Whether `email` holds this badge (not revoked)."""
        ...

    async def issuer_name(self, issuer_id: uuid.UUID) -> str:
        """The organisation's name; its events may not have arrived yet on a fresh replay."""
        ...

    async def playlists_requiring(self, activity_id: uuid.UUID) -> list[BadgeClass]: ...

    async def holder(self, email: str) -> Holder: ...

    async def holders_of_all(self, badge_class_ids: list[uuid.UUID]) -> list[str]:
        """The recipients who hold every one of these badges (not revoked)."""
        ...

    async def claim(self, request_id: uuid.UUID) -> Claim | None:
        """A press of Accept and what was decided on it."""
        ...


# A policy's state is read in its own unit of work (its transaction, for PostgreSQL).
StatesFor = Callable[[UnitOfWork], BadgeStates]
