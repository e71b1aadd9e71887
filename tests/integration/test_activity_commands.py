"""The activity service's commands once on the in-memory store and once on the real one
(PostgreSQL and Kafka, no HTTP): the same decisions, the same streams and versions. On the real
store, commands racing on one aggregate are decided one at a time under its stream lock."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from services.activity import service_layer
from services.activity.adapters.in_memory import InMemoryActivity
from services.activity.adapters.read_models import PostgresState
from services.activity.app import build_runtime
from services.activity.domain.model import (
    DraftActivity,
    DraftPlaylist,
    PublishActivity,
    PublishPlaylist,
    Status,
    UpdateActivity,
)
from services.activity.state import ActivityState, StateOf
from services.kernel.errors import Conflict, Forbidden
from services.kernel.settings import KernelSettings
from services.organiser_access import Organiser


@dataclass
class Store:
    runs: service_layer.Runs
    state: StateOf

    async def read(self, query: Callable[[ActivityState], Awaitable[Any]]) -> Any:
        return await self.runs.execute(lambda uow: query(self.state(uow)))


@contextlib.asynccontextmanager
async def _on_postgresql(infra: Any) -> AsyncIterator[Store]:
    """The service's runtime in a namespace of its own (no consumer, no HTTP), dropped after."""
    runtime = build_runtime(KernelSettings(namespace=f"t{uuid.uuid4().hex[:10]}"))
    await runtime.open()
    try:
        yield Store(runtime, PostgresState.of)
    finally:
        await runtime.close()
        conn = await asyncpg.connect(infra.database_url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{runtime.schema}" CASCADE')
        finally:
            await conn.close()


@pytest.fixture(params=["in_memory", "postgresql"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "in_memory":
        service = InMemoryActivity()
        yield Store(service, service.state.of)
        return
    async with _on_postgresql(request.getfixturevalue("infra")) as found:
        yield found


@pytest.fixture
async def postgresql(infra: Any) -> AsyncIterator[Store]:
    async with _on_postgresql(infra) as found:
        yield found


async def _bootstrap(store: Store) -> Organiser:
    created = await service_layer.create_organisation(
        store.runs,
        name="Riverside",
        url="https://riverside.example.org",
        email="hello@riverside.example.org",
        organiser_name="Ana",
        organiser_email="ana@riverside.example.org",
    )
    return Organiser(created.organiser_id, created.organisation_id)


async def test_organisers_and_keys(store: Store):
    ana = await _bootstrap(store)
    org = ana.organisation_id
    added = await service_layer.add_organiser(
        store.runs, ana, org, "Bo", "Bo@Riverside.Example.ORG", state=store.state
    )
    bo = Organiser(added.organiser_id, org)
    with pytest.raises(Forbidden, match="only an admin"):
        await service_layer.add_organiser(store.runs, bo, org, "Cy", "c@r.org", state=store.state)
    await service_layer.make_admin(store.runs, ana, bo.organiser_id, state=store.state)
    spare = await service_layer.issue_key(store.runs, bo, bo.organiser_id, state=store.state)
    revoked = await service_layer.revoke_key(store.runs, bo, spare.key_id, state=store.state)
    assert revoked.revoked
    await service_layer.remove_organiser(store.runs, ana, bo.organiser_id, state=store.state)
    member = await store.read(lambda state: state.member(bo.organiser_id))
    assert member.removed and not member.is_admin
    assert member.email == "Bo@riverside.example.org"
    keys = await store.read(lambda state: state.keys_of(bo.organiser_id))
    assert {key.key_id for key in keys} == {added.key_id, spare.key_id}
    assert all(key.revoked for key in keys)
    assert (await store.read(lambda state: state.member(ana.organiser_id))).is_admin
    with pytest.raises(Forbidden, match="no longer an organiser"):
        await service_layer.issue_key(store.runs, bo, bo.organiser_id, state=store.state)


async def test_activities_and_playlists(store: Store):
    ana = await _bootstrap(store)
    org, activity_id, playlist_id = ana.organisation_id, uuid.uuid4(), uuid.uuid4()

    async def activity(command: Any) -> Any:
        return await service_layer.handle_activity(
            store.runs, ana.actor, command, state=store.state
        )

    async def playlist(command: Any) -> Any:
        return await service_layer.handle_playlist(
            store.runs, ana.actor, command, state=store.state
        )

    drafted = await activity(DraftActivity(activity_id, org, "Gardening", "Grow", "Plant"))
    assert (drafted.status, drafted.version) == (Status.DRAFT, 1)
    assert (await activity(UpdateActivity(activity_id, org, title="Gardening"))).version == 1
    await playlist(DraftPlaylist(playlist_id, org, "Trail", "", (activity_id,)))
    with pytest.raises(Conflict, match="not published yet"):
        await playlist(PublishPlaylist(playlist_id, org))
    published = await activity(PublishActivity(activity_id, org))
    assert (published.status, published.version, published.title) == (
        Status.PUBLISHED,
        2,
        "Gardening",
    )
    with pytest.raises(Conflict, match="already published"):
        await activity(PublishActivity(activity_id, org))
    done = await playlist(PublishPlaylist(playlist_id, org))
    assert (done.status, done.version) == (Status.PUBLISHED, 2)


async def test_racing_commands_on_one_activity_are_decided_one_at_a_time(postgresql: Store):
    ana = await _bootstrap(postgresql)
    org, activity_id = ana.organisation_id, uuid.uuid4()
    await service_layer.handle_activity(
        postgresql.runs, ana.actor, DraftActivity(activity_id, org, "Gardening", "", "")
    )
    # Eight edits at once: each is decided on the one before it, so none is lost and the
    # versions run on without a gap or a repeat.
    edits = await asyncio.gather(
        *(
            service_layer.handle_activity(
                postgresql.runs, ana.actor, UpdateActivity(activity_id, org, description=f"v{n}")
            )
            for n in range(8)
        )
    )
    assert sorted(edit.version for edit in edits) == list(range(2, 10))
    # Eight publications at once: one publishes, seven are told it already is.
    answers = await asyncio.gather(
        *(
            service_layer.handle_activity(
                postgresql.runs, ana.actor, PublishActivity(activity_id, org)
            )
            for _ in range(8)
        ),
        return_exceptions=True,
    )
    published = [a for a in answers if not isinstance(a, BaseException)]
    refused = [a for a in answers if isinstance(a, Conflict)]
    assert len(published) == 1 and len(refused) == 7, answers
    assert published[0].version == 10
