"""The activity service's commands, end to end through the service layer, on an in-memory unit
of work and the in-memory state (no Kafka, no PostgreSQL): what each decides and appends, on
which stream, numbered from the stream's lock."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import new_envelope
from contracts.activity import (
    ActivityArchived,
    ActivityDrafted,
    ActivityPublished,
    OrganisationCreated,
    OrganiserAdded,
    OrganiserAdminRoleGranted,
    OrganiserKeyIssued,
    OrganiserKeyRevoked,
    OrganiserRemoved,
    PlaylistDrafted,
    PlaylistPublished,
)
from services.activity import service_layer
from services.activity.adapters.in_memory import InMemoryActivity
from services.activity.domain.model import (
    ArchiveActivity,
    DraftActivity,
    DraftPlaylist,
    PublishActivity,
    PublishPlaylist,
    Status,
    UpdateActivity,
)
from services.activity.domain.organisers import Operator
from services.kernel.errors import Conflict, Forbidden
from services.organiser_access import Organiser


class _InMemoryCommands:
    """The service layer's commands, each reading the in-memory service's own state."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        command = getattr(service_layer, name)
        if "state" not in inspect.signature(command).parameters:
            return command
        return lambda service, *args, **kwargs: command(
            service, *args, state=service.state.of, **kwargs
        )


commands = _InMemoryCommands()


@pytest.fixture
def service() -> InMemoryActivity:
    return InMemoryActivity()


def _kinds(service: InMemoryActivity) -> list[str]:
    return [envelope.event_type for envelope in service.uow.emitted]


async def _bootstrap(service: InMemoryActivity) -> Organiser:
    created = await commands.create_organisation(
        service,
        name="Riverside",
        url="https://riverside.example.org",
        email="hello@riverside.example.org",
        organiser_name="Ana",
        organiser_email="ana@riverside.example.org",
    )
    return Organiser(created.organiser_id, created.organisation_id)


async def test_bootstrap_appends_the_organisation_and_its_admin_on_their_streams(service):
    ana = await _bootstrap(service)
    assert [(e.event_type, e.stream_id, e.stream_version) for e in service.uow.emitted] == [
        ("OrganisationCreated", ana.organisation_id, 1),
        ("OrganiserAdded", ana.organiser_id, 1),
        ("OrganiserKeyIssued", ana.organiser_id, 2),
        ("OrganiserAdminRoleGranted", ana.organiser_id, 3),
    ]
    assert {e.actor for e in service.uow.emitted} == {"operator"}
    member = await service.state.member(ana.organiser_id)
    assert member is not None and member.is_admin


async def test_an_admin_adds_a_colleague_who_may_not_add_anyone_until_made_admin(service):
    ana = await _bootstrap(service)
    added = await commands.add_organiser(
        service, ana, ana.organisation_id, "Bo", "Bo@Riverside.Example.ORG"
    )
    bo = Organiser(added.organiser_id, added.organisation_id)
    assert _kinds(service)[-2:] == ["OrganiserAdded", "OrganiserKeyIssued"]
    assert service.uow.emitted[-1].actor == ana.actor
    assert (await service.state.member(bo.organiser_id)).email == "Bo@riverside.example.org"
    assert (await service.state.key(added.key_id)).revoked is False
    before = len(service.uow.emitted)
    with pytest.raises(Forbidden, match="only an admin"):
        await commands.add_organiser(service, bo, bo.organisation_id, "Cy", "cy@r.org")
    assert len(service.uow.emitted) == before
    await commands.make_admin(service, ana, bo.organiser_id)
    assert service.uow.emitted[-1].event_type == "OrganiserAdminRoleGranted"
    assert service.uow.emitted[-1].stream_version == 3
    assert await commands.add_organiser(service, bo, bo.organisation_id, "Cy", "cy@r.org")


async def test_keys_are_issued_and_revoked_on_their_holders_stream(service):
    ana = await _bootstrap(service)
    issued = await commands.issue_key(service, ana, ana.organiser_id)
    revoked = await commands.revoke_key(service, ana, issued.key_id)
    assert revoked.revoked
    assert [(e.event_type, e.stream_version) for e in service.uow.emitted[-2:]] == [
        ("OrganiserKeyIssued", 4),
        ("OrganiserKeyRevoked", 5),
    ]
    with pytest.raises(Conflict, match="already revoked"):
        await commands.revoke_key(service, Operator(), issued.key_id)


async def test_removing_an_organiser_revokes_their_keys_and_they_can_no_longer_act(service):
    ana = await _bootstrap(service)
    added = await commands.add_organiser(service, ana, ana.organisation_id, "Bo", "bo@r.org")
    spare = await commands.issue_key(service, Operator(), added.organiser_id)
    await commands.remove_organiser(service, ana, added.organiser_id)
    assert _kinds(service)[-3:] == [
        "OrganiserKeyRevoked",
        "OrganiserKeyRevoked",
        "OrganiserRemoved",
    ]
    keys = await service.state.keys_of(added.organiser_id)
    assert {key.key_id for key in keys} == {added.key_id, spare.key_id}
    assert all(key.revoked for key in keys)
    bo = Organiser(added.organiser_id, added.organisation_id)
    with pytest.raises(Forbidden, match="no longer an organiser"):
        await commands.issue_key(service, bo, bo.organiser_id)
    with pytest.raises(Conflict, match="yourself"):
        await commands.remove_organiser(service, ana, ana.organiser_id)


async def test_in_an_old_log_the_first_organiser_is_the_admin(service):
    """Logs from before `OrganiserAdminRoleGranted`: the organisation's first organiser."""
    organisation_id, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    old_log = [
        (
            organisation_id,
            OrganisationCreated(
                organisation_id=organisation_id, name="Mill", url="https://m.org", email="a@m.org"
            ),
        ),
        (
            second,
            OrganiserAdded(
                organiser_id=second, organisation_id=organisation_id, name="Late", email="l@m.org"
            ),
        ),
        (
            first,
            OrganiserAdded(
                organiser_id=first, organisation_id=organisation_id, name="First", email="f@m.org"
            ),
        ),
    ]
    for day, (stream_id, event) in zip((1, 3, 2), old_log, strict=True):
        await service.uow.receive(
            new_envelope(
                event,
                stream_id=stream_id,
                stream_version=1,
                actor="operator",
                occurred_at=datetime(2025, 1, day, tzinfo=UTC),
            )
        )
    assert (await service.state.member(first)).is_admin
    assert not (await service.state.member(second)).is_admin
    await commands.make_admin(service, Organiser(first, organisation_id), second)
    assert service.uow.emitted[-1].payload == OrganiserAdminRoleGranted(
        organiser_id=second, organisation_id=organisation_id
    )
    assert service.uow.emitted[-1].stream_version == 2


async def test_an_activity_is_drafted_published_and_archived_in_stream_order(service):
    ana = await _bootstrap(service)
    service.uow.emitted.clear()
    activity_id = uuid.uuid4()
    org = ana.organisation_id
    drafted = await commands.handle_activity(
        service, ana.actor, DraftActivity(activity_id, org, "Gardening", "Grow", "Plant")
    )
    assert (drafted.status, drafted.version) == (Status.DRAFT, 1)
    # Nothing changes: nothing is appended, and the activity is answered as it is.
    same = await commands.handle_activity(
        service, ana.actor, UpdateActivity(activity_id, org, title="Gardening")
    )
    assert same == drafted
    published = await commands.handle_activity(
        service, ana.actor, PublishActivity(activity_id, org)
    )
    archived = await commands.handle_activity(service, ana.actor, ArchiveActivity(activity_id, org))
    assert (published.status, archived.status) == (Status.PUBLISHED, Status.ARCHIVED)
    assert [(type(e.payload), e.stream_id, e.stream_version) for e in service.uow.emitted] == [
        (ActivityDrafted, activity_id, 1),
        (ActivityPublished, activity_id, 2),
        (ActivityArchived, activity_id, 3),
    ]
    with pytest.raises(Conflict, match="archived"):
        await commands.handle_activity(service, ana.actor, PublishActivity(activity_id, org))
    assert len(service.uow.emitted) == 3


async def test_a_playlist_is_published_once_its_activities_are(service):
    ana = await _bootstrap(service)
    org, activity_id, playlist_id = ana.organisation_id, uuid.uuid4(), uuid.uuid4()
    await commands.handle_activity(service, ana.actor, DraftActivity(activity_id, org, "G", "", ""))
    await commands.handle_playlist(
        service, ana.actor, DraftPlaylist(playlist_id, org, "Trail", "", (activity_id,))
    )
    with pytest.raises(Conflict, match="not published yet"):
        await commands.handle_playlist(service, ana.actor, PublishPlaylist(playlist_id, org))
    await commands.handle_activity(service, ana.actor, PublishActivity(activity_id, org))
    published = await commands.handle_playlist(
        service, ana.actor, PublishPlaylist(playlist_id, org)
    )
    assert published.status is Status.PUBLISHED and published.version == 2
    assert [type(e.payload) for e in service.uow.emitted if e.stream_id == playlist_id] == [
        PlaylistDrafted,
        PlaylistPublished,
    ]


async def test_the_state_is_a_function_of_the_log(service):
    """What the commands left behind is what replaying their events elsewhere gives."""
    ana = await _bootstrap(service)
    added = await commands.add_organiser(service, ana, ana.organisation_id, "Bo", "bo@r.org")
    await commands.remove_organiser(service, ana, added.organiser_id)
    activity_id = uuid.uuid4()
    await commands.handle_activity(
        service, ana.actor, DraftActivity(activity_id, ana.organisation_id, "G", "", "")
    )
    replayed = InMemoryActivity()
    for envelope in service.uow.emitted:
        assert await replayed.uow.receive(envelope)
        assert not await replayed.uow.receive(envelope)  # once per id
    for organiser_id in (ana.organiser_id, added.organiser_id):
        assert await replayed.state.member(organiser_id) == await service.state.member(organiser_id)
        assert await replayed.state.keys_of(organiser_id) == await service.state.keys_of(
            organiser_id
        )
    assert await replayed.state.activity(activity_id) == await service.state.activity(activity_id)
    assert replayed.uow.versions == service.uow.versions
    assert {type(e.payload) for e in service.uow.emitted} >= {
        OrganiserKeyRevoked,
        OrganiserRemoved,
        OrganiserKeyIssued,
    }
