"""The activity service's state in dicts, kept by the domain's `evolve` from the same events
the read models are projected from: the state port without a database, for running the
service's commands in memory (`InMemoryActivity`) in tests that take milliseconds."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from contracts import Envelope
from contracts.activity import (
    TOPIC,
    ActivityArchived,
    ActivityDrafted,
    ActivityPublished,
    ActivityUpdated,
    OrganisationCreated,
    OrganiserAdded,
    OrganiserAdminRoleGranted,
    OrganiserKeyIssued,
    OrganiserKeyRevoked,
    OrganiserRemoved,
    OrganiserSignInRequested,
    PlaylistArchived,
    PlaylistDrafted,
    PlaylistPublished,
    PlaylistUpdated,
)
from services.activity.domain.model import (
    Activity,
    ActivityChange,
    Playlist,
    PlaylistChange,
    evolve_activity,
    evolve_playlist,
)
from services.activity.domain.organisations import Organisation, evolve_organisation
from services.activity.domain.organisers import (
    Key,
    KeyEvent,
    Member,
    MemberEvent,
    evolve_key,
    evolve_member,
)
from services.activity.domain.sign_in import SignInRequest, evolve_sign_in_request
from services.kernel.handlers import Handlers
from services.kernel.in_memory import InMemoryUnitOfWork
from services.kernel.unit_of_work import UnitOfWork

T = TypeVar("T")


class InMemoryState:
    def __init__(self) -> None:
        self._organisations: dict[uuid.UUID, Organisation] = {}
        self._members: dict[uuid.UUID, Member] = {}
        self._keys: dict[str, Key] = {}
        self._activities: dict[uuid.UUID, Activity] = {}
        self._playlists: dict[uuid.UUID, Playlist] = {}
        self._sign_ins: dict[uuid.UUID, SignInRequest] = {}
        # When each organiser was added: the first of an organisation is its admin in old logs.
        self._added: dict[uuid.UUID, datetime] = {}

    def of(self, uow: UnitOfWork) -> InMemoryState:
        return self

    def handlers(self) -> Handlers:
        """What keeps this state: every event of the service, through `evolve`."""
        return (
            Handlers()
            .project(OrganisationCreated, self._organisation)
            .project(OrganiserAdded, self._member)
            .project(OrganiserAdminRoleGranted, self._member)
            .project(OrganiserRemoved, self._member, self._key)
            .project(OrganiserKeyIssued, self._member, self._key, self._sign_in)
            .project(OrganiserSignInRequested, self._sign_in)
            .project(OrganiserKeyRevoked, self._member, self._key)
            .project(ActivityDrafted, self._activity)
            .project(ActivityUpdated, self._activity)
            .project(ActivityPublished, self._activity)
            .project(ActivityArchived, self._activity)
            .project(PlaylistDrafted, self._playlist)
            .project(PlaylistUpdated, self._playlist)
            .project(PlaylistPublished, self._playlist)
            .project(PlaylistArchived, self._playlist)
        )

    async def _organisation(self, _: UnitOfWork, envelope: Envelope[OrganisationCreated]) -> None:
        found = self._organisations.get(envelope.payload.organisation_id)
        self._organisations[envelope.payload.organisation_id] = evolve_organisation(found, envelope)

    async def _member(self, _: UnitOfWork, envelope: MemberEvent) -> None:
        organiser_id = envelope.payload.organiser_id
        self._members[organiser_id] = evolve_member(self._members.get(organiser_id), envelope)
        self._added.setdefault(organiser_id, envelope.occurred_at)

    async def _key(self, _: UnitOfWork, envelope: KeyEvent) -> None:
        event = envelope.payload
        if isinstance(event, OrganiserRemoved):
            for key_id, key in self._keys.items():
                if key.organiser_id == event.organiser_id:
                    self._keys[key_id] = evolve_key(key, envelope)
            return
        self._keys[event.key_id] = evolve_key(self._keys.get(event.key_id), envelope)

    async def _sign_in(
        self,
        _: UnitOfWork,
        envelope: Envelope[OrganiserSignInRequested] | Envelope[OrganiserKeyIssued],
    ) -> None:
        event = envelope.payload
        request_id = (
            event.request_id
            if isinstance(event, OrganiserSignInRequested)
            else event.sign_in_request_id
        )
        if request_id is None:
            return
        found = self._sign_ins.get(request_id)
        self._sign_ins[request_id] = evolve_sign_in_request(found, envelope)

    async def _activity(self, _: UnitOfWork, envelope: ActivityChange) -> None:
        activity_id = envelope.payload.activity_id
        self._activities[activity_id] = evolve_activity(self._activities.get(activity_id), envelope)

    async def _playlist(self, _: UnitOfWork, envelope: PlaylistChange) -> None:
        playlist_id = envelope.payload.playlist_id
        self._playlists[playlist_id] = evolve_playlist(self._playlists.get(playlist_id), envelope)

    # -- the state port ----------------------------------------------------------------------

    async def organisation(self, organisation_id: uuid.UUID) -> Organisation | None:
        return self._organisations.get(organisation_id)

    async def member(self, organiser_id: uuid.UUID) -> Member | None:
        member = self._members.get(organiser_id)
        if member is None or member.removed or member.is_admin:
            return member
        first = min(
            (
                (self._added[m.organiser_id], m.organiser_id)
                for m in self._members.values()
                if m.organisation_id == member.organisation_id
            ),
        )
        return replace(member, is_admin=first[1] == organiser_id)

    async def key(self, key_id: str) -> Key | None:
        return self._keys.get(key_id)

    async def organisers_with_email(
        self, email: str, added_by: datetime | None = None
    ) -> list[Member]:
        found = [
            m
            for m in self._members.values()
            if m.email.lower() == email.lower()
            and (added_by is None or self._added[m.organiser_id] <= added_by)
        ]
        return [member for m in found if (member := await self.member(m.organiser_id))]

    async def sign_in_request(self, request_id: uuid.UUID) -> SignInRequest | None:
        return self._sign_ins.get(request_id)

    async def keys_of(self, organiser_id: uuid.UUID) -> list[Key]:
        return sorted(
            (key for key in self._keys.values() if key.organiser_id == organiser_id),
            key=lambda key: key.key_id,
        )

    async def activity(self, activity_id: uuid.UUID) -> Activity | None:
        return self._activities.get(activity_id)

    async def activities(self, activity_ids: tuple[uuid.UUID, ...]) -> dict[uuid.UUID, Activity]:
        return {i: self._activities[i] for i in activity_ids if i in self._activities}

    async def playlist(self, playlist_id: uuid.UUID) -> Playlist | None:
        return self._playlists.get(playlist_id)


class InMemoryActivity:
    """The service's commands on an in-memory unit of work: pass it where the service layer
    takes the runtime, with `state=…state.of`. `uow.emitted` is what was decided."""

    def __init__(self) -> None:
        self.state = InMemoryState()
        self.uow = InMemoryUnitOfWork(self.state.handlers(), TOPIC)

    async def execute(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        return await work(self.uow)
