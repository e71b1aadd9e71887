"""The activity service's state from its events: an `evolve` for every event it owns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from contracts import new_envelope, registry
from contracts.activity import (
    TOPIC,
    ActivityArchived,
    ActivityDrafted,
    ActivityEvent,
    ActivityPublished,
    ActivityUpdated,
    OrganisationCreated,
    OrganiserAdded,
    OrganiserAdminRoleGranted,
    OrganiserKeyIssued,
    OrganiserKeyRevoked,
    OrganiserRemoved,
    OrganiserSignInAsked,
    OrganiserSignInRequested,
    PlaylistArchived,
    PlaylistDrafted,
    PlaylistPublished,
    PlaylistUpdated,
)
from services.activity.domain.catalogue import is_listed
from services.activity.domain.model import Status, evolve_activity, evolve_playlist
from services.activity.domain.organisations import Organisation, evolve_organisation
from services.activity.domain.organisers import Key, Member, evolve_key, evolve_member
from services.activity.domain.streams import stream_of

ORG = uuid.uuid4()
ME = uuid.uuid4()
ASK = uuid.uuid4()
KEY = "0123456789ab"
SHA = "0" * 64


def _at(day: int) -> datetime:
    return datetime(2026, 1, day, tzinfo=UTC)


def _envelope(event: ActivityEvent, version: int = 1, day: int = 1):
    return new_envelope(
        event, stream_id=stream_of(event), stream_version=version, actor="t", occurred_at=_at(day)
    )


def test_every_event_of_the_service_belongs_to_a_stream():
    owned = [model for model in registry().values() if model.topic == TOPIC]
    assert len(owned) == 16
    for model in owned:
        assert model in EVERY_EVENT


def test_an_organisation_is_its_creation():
    created = OrganisationCreated(
        organisation_id=ORG, name="Riverside", url="https://r.org", email="a@r.org"
    )
    organisation = evolve_organisation(None, _envelope(created))
    assert organisation == Organisation(ORG, "Riverside", "https://r.org", "a@r.org", _at(1))
    # Applied again (a replayed duplicate), it stays the first.
    assert evolve_organisation(organisation, _envelope(created, day=2)) is organisation


def _added() -> Member:
    event = OrganiserAdded(organiser_id=ME, organisation_id=ORG, name="Ana", email="ana@r.org")
    return evolve_member(None, _envelope(event))


def test_an_organiser_is_added_made_admin_and_removed():
    member = _added()
    assert member == Member(ME, ORG, "Ana", "ana@r.org", is_admin=False, removed=False)
    granted = OrganiserAdminRoleGranted(organiser_id=ME, organisation_id=ORG)
    admin = evolve_member(member, _envelope(granted, 2))
    assert admin.is_admin and not admin.removed
    removed = evolve_member(
        admin, _envelope(OrganiserRemoved(organiser_id=ME, organisation_id=ORG), 3)
    )
    assert removed.removed and not removed.is_admin
    # A role granted to someone already removed does not bring them back.
    assert not evolve_member(removed, _envelope(granted, 4)).is_admin


def test_an_organisers_keys_are_on_their_stream_and_leave_the_member_as_is():
    member = _added()
    issued = OrganiserKeyIssued(organiser_id=ME, organisation_id=ORG, key_id=KEY, secret_sha256=SHA)
    revoked = OrganiserKeyRevoked(organiser_id=ME, organisation_id=ORG, key_id=KEY)
    assert evolve_member(member, _envelope(issued, 2)) == member
    assert evolve_member(member, _envelope(revoked, 3)) == member
    again = OrganiserAdded(organiser_id=ME, organisation_id=ORG, name="Other", email="o@r.org")
    assert evolve_member(member, _envelope(again)) is member


def test_events_for_an_organiser_never_added_are_an_error():
    with pytest.raises(ValueError, match="never added"):
        evolve_member(None, _envelope(OrganiserRemoved(organiser_id=ME, organisation_id=ORG)))


def test_a_key_is_issued_then_revoked_by_itself_or_by_its_holders_removal():
    issued = OrganiserKeyIssued(organiser_id=ME, organisation_id=ORG, key_id=KEY, secret_sha256=SHA)
    key = evolve_key(None, _envelope(issued))
    assert key == Key(KEY, ME, ORG, revoked=False)
    assert evolve_key(key, _envelope(issued)) is key
    revoked = OrganiserKeyRevoked(organiser_id=ME, organisation_id=ORG, key_id=KEY)
    assert evolve_key(key, _envelope(revoked, 2)).revoked
    removed = OrganiserRemoved(organiser_id=ME, organisation_id=ORG)
    assert evolve_key(key, _envelope(removed, 2)).revoked
    someone_else = OrganiserRemoved(organiser_id=uuid.uuid4(), organisation_id=ORG)
    assert not evolve_key(key, _envelope(someone_else, 2)).revoked
    with pytest.raises(ValueError, match="never issued"):
        evolve_key(None, _envelope(revoked))


def _content(model, activity_id, title="Gardening"):
    return model(
        activity_id=activity_id,
        organisation_id=ORG,
        title=title,
        description="Grow",
        criteria="Plant",
        starts_at=None,
        ends_at=None,
        place=None,
    )


def test_an_activity_is_drafted_updated_published_and_archived():
    activity_id = uuid.uuid4()
    activity = evolve_activity(None, _envelope(_content(ActivityDrafted, activity_id)))
    assert (activity.status, activity.version, activity.created_at) == (Status.DRAFT, 1, _at(1))
    assert activity.published_at is None
    updated = evolve_activity(
        activity, _envelope(_content(ActivityUpdated, activity_id, "Digging"), 2, 2)
    )
    assert (updated.title, updated.version, updated.updated_at) == ("Digging", 2, _at(2))
    assert updated.status is Status.DRAFT and updated.created_at == _at(1)
    published = evolve_activity(updated, _envelope(_content(ActivityPublished, activity_id), 3, 3))
    assert (published.status, published.title, published.published_at) == (
        Status.PUBLISHED,
        "Gardening",
        _at(3),
    )
    archived = evolve_activity(
        published,
        _envelope(ActivityArchived(activity_id=activity_id, organisation_id=ORG), 4, 4),
    )
    assert (archived.status, archived.version, archived.updated_at) == (Status.ARCHIVED, 4, _at(4))
    assert archived.published_at == _at(3)


def test_events_for_an_activity_never_drafted_are_an_error():
    with pytest.raises(ValueError, match="never drafted"):
        evolve_activity(None, _envelope(_content(ActivityUpdated, uuid.uuid4())))


def _playlist(model, playlist_id, activity_ids):
    return model(
        playlist_id=playlist_id,
        organisation_id=ORG,
        title="Trail",
        description="Walk",
        activity_ids=activity_ids,
    )


def test_a_playlist_is_drafted_updated_and_published():
    playlist_id, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    playlist = evolve_playlist(None, _envelope(_playlist(PlaylistDrafted, playlist_id, (first,))))
    assert (playlist.status, playlist.activity_ids, playlist.version) == (
        Status.DRAFT,
        (first,),
        1,
    )
    updated = evolve_playlist(
        playlist, _envelope(_playlist(PlaylistUpdated, playlist_id, (first, second)), 2, 2)
    )
    assert updated.activity_ids == (first, second) and updated.updated_at == _at(2)
    published = evolve_playlist(
        updated, _envelope(_playlist(PlaylistPublished, playlist_id, (first, second)), 3, 3)
    )
    assert (published.status, published.published_at, published.version) == (
        Status.PUBLISHED,
        _at(3),
        3,
    )
    with pytest.raises(ValueError, match="never drafted"):
        evolve_playlist(None, _envelope(_playlist(PlaylistUpdated, uuid.uuid4(), ())))


def test_an_archived_playlist_is_no_longer_listed():
    playlist_id, first = uuid.uuid4(), uuid.uuid4()
    drafted = evolve_playlist(None, _envelope(_playlist(PlaylistDrafted, playlist_id, (first,))))
    published = evolve_playlist(
        drafted, _envelope(_playlist(PlaylistPublished, playlist_id, (first,)), 2, 2)
    )
    assert is_listed(published)
    archived = evolve_playlist(
        published,
        _envelope(PlaylistArchived(playlist_id=playlist_id, organisation_id=ORG), 3, 3),
    )
    assert (archived.status, archived.version, archived.updated_at) == (
        Status.ARCHIVED,
        3,
        _at(3),
    )
    assert archived.published_at == _at(2) and archived.activity_ids == (first,)
    assert not is_listed(archived)


EVERY_EVENT: dict[type[ActivityEvent], object] = {
    OrganisationCreated: ORG,
    OrganiserAdded: ME,
    OrganiserKeyIssued: ME,
    OrganiserKeyRevoked: ME,
    OrganiserAdminRoleGranted: ME,
    OrganiserRemoved: ME,
    OrganiserSignInAsked: "ask",
    OrganiserSignInRequested: ME,
    ActivityDrafted: "activity",
    ActivityUpdated: "activity",
    ActivityPublished: "activity",
    ActivityArchived: "activity",
    PlaylistDrafted: "playlist",
    PlaylistUpdated: "playlist",
    PlaylistPublished: "playlist",
    PlaylistArchived: "playlist",
}


def test_each_event_is_on_its_aggregates_stream():
    activity_id, playlist_id = uuid.uuid4(), uuid.uuid4()
    samples = [
        OrganisationCreated(organisation_id=ORG, name="R", url="https://r.org", email="a@r.org"),
        OrganiserAdded(organiser_id=ME, organisation_id=ORG, name="Ana", email="a@r.org"),
        OrganiserKeyIssued(organiser_id=ME, organisation_id=ORG, key_id=KEY, secret_sha256=SHA),
        OrganiserKeyRevoked(organiser_id=ME, organisation_id=ORG, key_id=KEY),
        OrganiserAdminRoleGranted(organiser_id=ME, organisation_id=ORG),
        OrganiserRemoved(organiser_id=ME, organisation_id=ORG),
        OrganiserSignInAsked(ask_id=ASK, email="a@r.org"),
        OrganiserSignInRequested(
            request_id=ASK, organiser_id=ME, organisation_id=ORG, email="a@r.org", expires_at=_at(1)
        ),
        _content(ActivityDrafted, activity_id),
        _content(ActivityUpdated, activity_id),
        _content(ActivityPublished, activity_id),
        ActivityArchived(activity_id=activity_id, organisation_id=ORG),
        _playlist(PlaylistDrafted, playlist_id, ()),
        _playlist(PlaylistUpdated, playlist_id, ()),
        _playlist(PlaylistPublished, playlist_id, ()),
        PlaylistArchived(playlist_id=playlist_id, organisation_id=ORG),
    ]
    assert {type(event) for event in samples} == set(EVERY_EVENT)
    expected = {"activity": activity_id, "playlist": playlist_id, "ask": ASK}
    for event in samples:
        wanted = EVERY_EVENT[type(event)]
        assert stream_of(event) == expected.get(str(wanted), wanted)
