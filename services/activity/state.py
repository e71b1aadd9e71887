"""The state the activity service decides from, as its commands read it: one port with two
stores, the read models in PostgreSQL (`adapters.read_models.PostgresState`) and dicts kept by
the domain's `evolve` (`adapters.in_memory.InMemoryState`), so a command runs on either."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from services.activity.domain.model import Activity, Playlist
from services.activity.domain.organisations import Organisation
from services.activity.domain.organisers import Key, Member
from services.activity.domain.sign_in import SignInRequest
from services.kernel.unit_of_work import UnitOfWork


class ActivityState(Protocol):
    async def organisation(self, organisation_id: uuid.UUID) -> Organisation | None: ...

    async def member(self, organiser_id: uuid.UUID) -> Member | None:
        """The organiser as they are now, `is_admin` as the organisation counts it."""

    async def key(self, key_id: str) -> Key | None: ...

    async def organisers_with_email(
        self, email: str, added_by: datetime | None = None
    ) -> list[Member]:
        """Every organiser, of any organisation, whose address is `email` (case aside); with
        `added_by`, only those added by then."""

    async def sign_in_request(self, request_id: uuid.UUID) -> SignInRequest | None: ...

    async def keys_of(self, organiser_id: uuid.UUID) -> list[Key]: ...

    async def activity(self, activity_id: uuid.UUID) -> Activity | None: ...

    async def activities(self, activity_ids: tuple[uuid.UUID, ...]) -> dict[uuid.UUID, Activity]:
        """Those of `activity_ids` that exist."""

    async def playlist(self, playlist_id: uuid.UUID) -> Playlist | None: ...


# How a command finds the state in its unit of work.
StateOf = Callable[[UnitOfWork], ActivityState]
