"""Carries out organisers' commands: load the aggregate under a lock, decide, append the events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from contracts import new_envelope
from contracts.activity import OrganisationCreated
from services.activity.adapters import read_models
from services.activity.domain.keys import new_key
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
from services.activity.domain.organisations import check_email, check_issuer_url
from services.activity.domain.organisers import (
    Actor,
    Key,
    Operator,
    decide_add,
    decide_issue_key,
    decide_make_admin,
    decide_remove,
    decide_revoke_key,
)
from services.kernel.errors import Forbidden, NotFound
from services.kernel.runtime import ServiceRuntime
from services.kernel.unit_of_work import UnitOfWork
from services.organiser_access import Organiser


async def handle_activity(
    runtime: ServiceRuntime, actor: str, command: ActivityCommand
) -> Activity:
    async def work(uow: UnitOfWork) -> Activity:
        state = await read_models.get_activity(uow.conn, command.activity_id, lock=True)
        version = state.version if state else 0
        for offset, event in enumerate(decide_activity(state, command), start=1):
            await uow.emit(
                new_envelope(
                    event,
                    stream_id=command.activity_id,
                    stream_version=version + offset,
                    actor=actor,
                )
            )
        result = await read_models.get_activity(uow.conn, command.activity_id)
        assert result is not None
        return result

    return await runtime.execute(work)


async def handle_playlist(
    runtime: ServiceRuntime, actor: str, command: PlaylistCommand
) -> Playlist:
    async def work(uow: UnitOfWork) -> Playlist:
        state = await read_models.get_playlist(uow.conn, command.playlist_id, lock=True)
        named: tuple[uuid.UUID, ...] = state.activity_ids if state else ()
        if isinstance(command, DraftPlaylist | UpdatePlaylist) and command.activity_ids:
            named = named + command.activity_ids
        activities = await read_models.get_activities(uow.conn, named)
        version = state.version if state else 0
        for offset, event in enumerate(decide_playlist(state, command, activities), start=1):
            await uow.emit(
                new_envelope(
                    event,
                    stream_id=command.playlist_id,
                    stream_version=version + offset,
                    actor=actor,
                )
            )
        result = await read_models.get_playlist(uow.conn, command.playlist_id)
        assert result is not None
        return result

    return await runtime.execute(work)


@dataclass(frozen=True)
class OrganiserWithKey:
    organisation_id: uuid.UUID
    organiser_id: uuid.UUID
    key_id: str
    api_key: str


async def _emit_on(uow: UnitOfWork, stream_id: uuid.UUID, events: list[Any], actor: str) -> None:
    """Append events to one organiser's (or organisation's) stream, under its lock."""
    version = await uow.lock_stream(stream_id)
    for offset, event in enumerate(events, start=1):
        await uow.emit(
            new_envelope(event, stream_id=stream_id, stream_version=version + offset, actor=actor)
        )


# Who asks: the operator, or the organiser an API key belongs to.
Acting = Operator | Organiser


async def _actor(uow: UnitOfWork, actor: Acting) -> Actor:
    """The organiser behind a request as they are now, read in the command's transaction
    (their role may have changed since the key was checked)."""
    if isinstance(actor, Operator):
        return actor
    found = await read_models.get_member(uow.conn, actor.organiser_id)
    if found is None or found.removed:
        raise Forbidden("you are no longer an organiser of this organisation")
    return found


async def create_organisation(
    runtime: ServiceRuntime,
    *,
    name: str,
    url: str,
    email: str,
    organiser_name: str,
    organiser_email: str,
) -> OrganiserWithKey:
    """The organisation, its first organiser (its admin) and their API key (returned once)."""
    organisation = OrganisationCreated(
        organisation_id=uuid.uuid4(),
        name=name,
        url=check_issuer_url(url),
        email=check_email(email, "the organisation's email"),
    )
    organiser_id, key = uuid.uuid4(), new_key()
    events = decide_add(
        Operator(),
        organisation.organisation_id,
        organiser_id,
        organiser_name,
        organiser_email,
        key,
        admin=True,
    )

    async def work(uow: UnitOfWork) -> OrganiserWithKey:
        await _emit_on(uow, organisation.organisation_id, [organisation], "operator")
        await _emit_on(uow, organiser_id, list(events), "operator")
        return OrganiserWithKey(organisation.organisation_id, organiser_id, key.key_id, key.api_key)

    return await runtime.execute(work)


async def add_organiser(
    runtime: ServiceRuntime,
    acting: Acting,
    organisation_id: uuid.UUID,
    name: str,
    email: str,
    *,
    admin: bool = False,
) -> OrganiserWithKey:
    async def work(uow: UnitOfWork) -> OrganiserWithKey:
        if await read_models.get_organisation(uow.conn, organisation_id) is None:
            raise NotFound("organisation not found")
        organiser_id, key = uuid.uuid4(), new_key()
        actor = await _actor(uow, acting)
        events = decide_add(actor, organisation_id, organiser_id, name, email, key, admin=admin)
        await _emit_on(uow, organiser_id, list(events), actor.actor)
        return OrganiserWithKey(organisation_id, organiser_id, key.key_id, key.api_key)

    return await runtime.execute(work)


async def issue_key(
    runtime: ServiceRuntime, acting: Acting, organiser_id: uuid.UUID
) -> OrganiserWithKey:
    async def work(uow: UnitOfWork) -> OrganiserWithKey:
        actor = await _actor(uow, acting)
        owner = await read_models.get_member(uow.conn, organiser_id)
        key = new_key()
        events = decide_issue_key(actor, owner, key)
        await _emit_on(uow, organiser_id, list(events), actor.actor)
        assert owner is not None
        return OrganiserWithKey(owner.organisation_id, organiser_id, key.key_id, key.api_key)

    return await runtime.execute(work)


async def revoke_key(runtime: ServiceRuntime, acting: Acting, key_id: str) -> Key:
    async def work(uow: UnitOfWork) -> Key:
        actor = await _actor(uow, acting)
        found = await read_models.get_key(uow.conn, key_id)
        events = decide_revoke_key(actor, found)
        assert found is not None
        await _emit_on(uow, found.organiser_id, list(events), actor.actor)
        revoked = await read_models.get_key(uow.conn, key_id)
        assert revoked is not None
        return revoked

    return await runtime.execute(work)


async def remove_organiser(
    runtime: ServiceRuntime, acting: Acting, organiser_id: uuid.UUID
) -> None:
    async def work(uow: UnitOfWork) -> None:
        # Both organisers' locks, in one order, before reading either: two admins removing
        # each other at once are decided one after the other, so an admin always remains.
        involved = {organiser_id}
        if isinstance(acting, Organiser):
            involved.add(acting.organiser_id)
        for stream_id in sorted(involved):
            await uow.lock_stream(stream_id)
        actor = await _actor(uow, acting)
        target = await read_models.get_member(uow.conn, organiser_id)
        keys = await read_models.keys_of(uow.conn, organiser_id)
        await _emit_on(uow, organiser_id, list(decide_remove(actor, target, keys)), actor.actor)

    await runtime.execute(work)


async def make_admin(runtime: ServiceRuntime, acting: Acting, organiser_id: uuid.UUID) -> None:
    async def work(uow: UnitOfWork) -> None:
        actor = await _actor(uow, acting)
        target = await read_models.get_member(uow.conn, organiser_id)
        await _emit_on(uow, organiser_id, list(decide_make_admin(actor, target)), actor.actor)

    await runtime.execute(work)
