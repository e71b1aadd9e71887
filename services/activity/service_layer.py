"""Carries out organisers' and the operator's commands: lock the aggregate's stream, load its
state through the state port, decide (domain/), append the events. No rules of its own.

Every command takes the aggregate's stream lock (`UnitOfWork.lock_stream`) before it reads,
as every other writer of the platform does: decisions on one aggregate are made one at a time,
in the order they reach the log, and the version the lock returns numbers the new events.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from aiokafka.errors import KafkaError

from contracts import new_envelope
from contracts.activity import ActivityEvent
from contracts.tokens import OrganiserSignIn
from services.activity.adapters.read_models import PostgresState
from services.activity.domain.keys import NewKey, new_key
from services.activity.domain.model import (
    Activity,
    ActivityCommand,
    DraftPlaylist,
    Playlist,
    PlaylistCommand,
    UpdatePlaylist,
    decide_activity,
    decide_playlist,
)
from services.activity.domain.organisations import existing
from services.activity.domain.organisers import (
    Actor,
    BootstrapOrganisation,
    Key,
    Operator,
    decide_add,
    decide_bootstrap,
    decide_issue_key,
    decide_make_admin,
    decide_remove,
    decide_revoke_key,
)
from services.activity.domain.sign_in import decide_sign_in_ask, decide_start_session
from services.activity.domain.streams import stream_of
from services.activity.state import ActivityState, StateOf
from services.kernel.errors import Forbidden, ServiceUnavailable
from services.kernel.runtime import ServiceRuntime
from services.kernel.unit_of_work import UnitOfWork
from services.organiser_access import Organiser

T = TypeVar("T")


class Runs(Protocol):
    """Where a command's unit of work runs: the service's runtime (one PostgreSQL transaction,
    its events in Kafka before the commit) or `adapters.in_memory.InMemoryActivity`."""

    async def execute(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T: ...


# Who asks: the operator, or the organiser an API key belongs to.
Acting = Operator | Organiser


@dataclass(frozen=True)
class OrganiserWithKey:
    organisation_id: uuid.UUID
    organiser_id: uuid.UUID
    key_id: str
    api_key: str


async def _append(
    uow: UnitOfWork, events: Sequence[ActivityEvent], actor: str, locked: dict[uuid.UUID, int]
) -> None:
    """Append each event to its aggregate's stream, taking the stream's lock first if this
    command has not yet (`locked` holds the versions of those it has)."""
    for event in events:
        stream_id = stream_of(event)
        if stream_id not in locked:
            locked[stream_id] = await uow.lock_stream(stream_id)
        locked[stream_id] += 1
        await uow.emit(
            new_envelope(event, stream_id=stream_id, stream_version=locked[stream_id], actor=actor)
        )


async def _lock(uow: UnitOfWork, *stream_ids: uuid.UUID) -> dict[uuid.UUID, int]:
    """Take streams' locks in one order (so two commands taking the same two never deadlock)."""
    return {stream_id: await uow.lock_stream(stream_id) for stream_id in sorted(set(stream_ids))}


async def _actor(state: ActivityState, actor: Acting) -> Actor:
    """The organiser behind a request as they are now, read in the command's transaction
    (their role may have changed since the key was checked)."""
    if isinstance(actor, Operator):
        return actor
    found = await state.member(actor.organiser_id)
    if found is None or found.removed:
        raise Forbidden("you are no longer an organiser of this organisation")
    return found


# -- activities and playlists -----------------------------------------------------------------


async def handle_activity(
    runs: Runs, actor: str, command: ActivityCommand, *, state: StateOf = PostgresState.of
) -> Activity:
    async def work(uow: UnitOfWork) -> Activity:
        locked = await _lock(uow, command.activity_id)
        activities = state(uow)
        events = decide_activity(await activities.activity(command.activity_id), command)
        await _append(uow, events, actor, locked)
        result = await activities.activity(command.activity_id)
        assert result is not None
        return result

    return await runs.execute(work)


async def handle_playlist(
    runs: Runs, actor: str, command: PlaylistCommand, *, state: StateOf = PostgresState.of
) -> Playlist:
    async def work(uow: UnitOfWork) -> Playlist:
        locked = await _lock(uow, command.playlist_id)
        playlists = state(uow)
        current = await playlists.playlist(command.playlist_id)
        named: tuple[uuid.UUID, ...] = current.activity_ids if current else ()
        if isinstance(command, DraftPlaylist | UpdatePlaylist) and command.activity_ids:
            named = named + command.activity_ids
        activities = await playlists.activities(named)
        await _append(uow, decide_playlist(current, command, activities), actor, locked)
        result = await playlists.playlist(command.playlist_id)
        assert result is not None
        return result

    return await runs.execute(work)


# -- organisations, organisers and their keys -------------------------------------------------


async def create_organisation(
    runs: Runs,
    *,
    name: str,
    url: str,
    email: str,
    organiser_name: str,
    organiser_email: str,
) -> OrganiserWithKey:
    """The organisation, its first organiser (its admin) and their API key (returned once)."""
    command = BootstrapOrganisation(
        organisation_id=uuid.uuid4(),
        name=name,
        url=url,
        email=email,
        organiser_id=uuid.uuid4(),
        organiser_name=organiser_name,
        organiser_email=organiser_email,
    )
    return await bootstrap(runs, command, new_key())


async def bootstrap(runs: Runs, command: BootstrapOrganisation, key: NewKey) -> OrganiserWithKey:
    events = decide_bootstrap(command, key)

    async def work(uow: UnitOfWork) -> OrganiserWithKey:
        await _append(uow, events, "operator", {})
        return OrganiserWithKey(
            command.organisation_id, command.organiser_id, key.key_id, key.api_key
        )

    return await runs.execute(work)


async def add_organiser(
    runs: Runs,
    acting: Acting,
    organisation_id: uuid.UUID,
    name: str,
    email: str,
    *,
    admin: bool = False,
    state: StateOf = PostgresState.of,
) -> OrganiserWithKey:
    async def work(uow: UnitOfWork) -> OrganiserWithKey:
        members = state(uow)
        existing(await members.organisation(organisation_id))
        organiser_id, key = uuid.uuid4(), new_key()
        actor = await _actor(members, acting)
        events = decide_add(actor, organisation_id, organiser_id, name, email, key, admin=admin)
        await _append(uow, events, actor.actor, {})
        return OrganiserWithKey(organisation_id, organiser_id, key.key_id, key.api_key)

    return await runs.execute(work)


async def issue_key(
    runs: Runs, acting: Acting, organiser_id: uuid.UUID, *, state: StateOf = PostgresState.of
) -> OrganiserWithKey:
    async def work(uow: UnitOfWork) -> OrganiserWithKey:
        locked = await _lock(uow, organiser_id)
        members = state(uow)
        actor = await _actor(members, acting)
        owner = await members.member(organiser_id)
        key = new_key()
        await _append(uow, decide_issue_key(actor, owner, key), actor.actor, locked)
        assert owner is not None
        return OrganiserWithKey(owner.organisation_id, organiser_id, key.key_id, key.api_key)

    return await runs.execute(work)


async def revoke_key(
    runs: Runs, acting: Acting, key_id: str, *, state: StateOf = PostgresState.of
) -> Key:
    async def work(uow: UnitOfWork) -> Key:
        keys = state(uow)
        found = await keys.key(key_id)
        if found is not None:
            # A key lives on its holder's stream: under that lock it is revoked at most once.
            locked = await _lock(uow, found.organiser_id)
            found = await keys.key(key_id)
        else:
            locked = {}
        actor = await _actor(keys, acting)
        await _append(uow, decide_revoke_key(actor, found), actor.actor, locked)
        assert found is not None
        revoked = await keys.key(key_id)
        assert revoked is not None
        return revoked

    return await runs.execute(work)


async def remove_organiser(
    runs: Runs, acting: Acting, organiser_id: uuid.UUID, *, state: StateOf = PostgresState.of
) -> None:
    async def work(uow: UnitOfWork) -> None:
        # Both organisers' locks, in one order, before reading either: two admins removing
        # each other at once are decided one after the other, so an admin always remains.
        involved = [organiser_id]
        if isinstance(acting, Organiser):
            involved.append(acting.organiser_id)
        locked = await _lock(uow, *involved)
        members = state(uow)
        actor = await _actor(members, acting)
        target = await members.member(organiser_id)
        keys = await members.keys_of(organiser_id)
        await _append(uow, decide_remove(actor, target, keys), actor.actor, locked)

    await runs.execute(work)


async def make_admin(
    runs: Runs, acting: Acting, organiser_id: uuid.UUID, *, state: StateOf = PostgresState.of
) -> None:
    async def work(uow: UnitOfWork) -> None:
        locked = await _lock(uow, organiser_id)
        members = state(uow)
        actor = await _actor(members, acting)
        target = await members.member(organiser_id)
        await _append(uow, decide_make_admin(actor, target), actor.actor, locked)

    await runs.execute(work)


# -- organisers signing in to the console -----------------------------------------------------

APPEND_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class SessionKey:
    organisation_id: uuid.UUID
    organiser_id: uuid.UUID
    key_id: str
    api_key: str
    expires_at: datetime


async def ask_sign_in(runtime: ServiceRuntime, email: str) -> None:
    """Append the ask and answer. It goes straight to the log, not through a unit of work:
    the consumer applies it there and decides which organisers get a link (policies.py), so
    the request does the same work, one append, whether the address is an organiser's or not."""
    [asked] = decide_sign_in_ask(uuid.uuid4(), email)
    ask = new_envelope(asked, stream_id=stream_of(asked), stream_version=1, actor="anonymous")
    try:
        await asyncio.wait_for(runtime.publisher.publish(ask), APPEND_TIMEOUT_SECONDS)
    except (KafkaError, TimeoutError) as error:
        raise ServiceUnavailable(
            "We cannot take requests just now. Try again in a minute."
        ) from error


async def start_session(
    runs: Runs,
    token: OrganiserSignIn | None,
    *,
    lifetime: timedelta,
    where: str | None,
    state: StateOf = PostgresState.of,
) -> SessionKey:
    """Exchange an emailed sign-in link for a session key, once, under the organiser's lock
    (two clicks on one link make one session)."""

    async def work(uow: UnitOfWork) -> SessionKey:
        requests = state(uow)
        request = await requests.sign_in_request(token.request_id) if token else None
        locked: dict[uuid.UUID, int] = {}
        if request is not None:
            locked = await _lock(uow, request.organiser_id)
            request = await requests.sign_in_request(request.request_id)
        member = await requests.member(request.organiser_id) if request else None
        key, now = new_key(), datetime.now(UTC)
        events = decide_start_session(
            token, request, member, key, now=now, lifetime=lifetime, where=where
        )
        await _append(uow, events, f"organiser:{events[0].organiser_id}", locked)
        [issued] = events
        assert issued.expires_at is not None
        return SessionKey(
            issued.organisation_id, issued.organiser_id, key.key_id, key.api_key, issued.expires_at
        )

    return await runs.execute(work)
