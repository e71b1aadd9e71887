"""Carries out organisers' commands: load the aggregate under a lock, decide, append the events."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from contracts import new_envelope
from contracts.activity import OrganisationCreated, OrganiserAdded, OrganiserKeyIssued
from services.activity.adapters import read_models
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
from services.kernel.errors import NotFound
from services.kernel.organisers import NewKey, new_key
from services.kernel.runtime import ServiceRuntime
from services.kernel.unit_of_work import UnitOfWork


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
    api_key: str


async def _add_organiser(
    uow: UnitOfWork, organisation_id: uuid.UUID, name: str, email: str, actor: str
) -> OrganiserWithKey:
    organiser_id = uuid.uuid4()
    key: NewKey = new_key()
    await uow.emit(
        new_envelope(
            OrganiserAdded(
                organiser_id=organiser_id, organisation_id=organisation_id, name=name, email=email
            ),
            stream_id=organiser_id,
            stream_version=1,
            actor=actor,
        )
    )
    await uow.emit(
        new_envelope(
            OrganiserKeyIssued(
                organiser_id=organiser_id,
                organisation_id=organisation_id,
                key_id=key.key_id,
                secret_sha256=key.secret_sha256,
            ),
            stream_id=organiser_id,
            stream_version=2,
            actor=actor,
        )
    )
    return OrganiserWithKey(organisation_id, organiser_id, key.api_key)


async def create_organisation(
    runtime: ServiceRuntime,
    *,
    name: str,
    url: str,
    email: str,
    organiser_name: str,
    organiser_email: str,
) -> OrganiserWithKey:
    """The organisation, its first organiser and that organiser's API key (returned once)."""

    async def work(uow: UnitOfWork) -> OrganiserWithKey:
        organisation_id = uuid.uuid4()
        await uow.emit(
            new_envelope(
                OrganisationCreated(
                    organisation_id=organisation_id, name=name, url=url, email=email
                ),
                stream_id=organisation_id,
                stream_version=1,
                actor="operator",
            )
        )
        return await _add_organiser(
            uow, organisation_id, organiser_name, organiser_email, "operator"
        )

    return await runtime.execute(work)


async def add_organiser(
    runtime: ServiceRuntime, organisation_id: uuid.UUID, name: str, email: str, actor: str
) -> OrganiserWithKey:
    async def work(uow: UnitOfWork) -> OrganiserWithKey:
        if await read_models.get_organisation(uow.conn, organisation_id) is None:
            raise NotFound("organisation not found")
        return await _add_organiser(uow, organisation_id, name, email, actor)

    return await runtime.execute(work)
