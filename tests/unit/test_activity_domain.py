from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from contracts import new_envelope
from contracts.activity import ActivityArchived, ActivityPublished, ActivityUpdated
from services.activity.domain.model import (
    Activity,
    ArchiveActivity,
    DraftActivity,
    DraftPlaylist,
    PublishActivity,
    PublishPlaylist,
    Status,
    UpdateActivity,
    decide_activity,
    decide_playlist,
    evolve_activity,
    evolve_playlist,
)
from services.kernel.errors import Conflict, Forbidden, NotFound

ORG = uuid.uuid4()
OTHER_ORG = uuid.uuid4()


def _apply(state, events, evolve=evolve_activity):
    version = state.version if state else 0
    for offset, event in enumerate(events, 1):
        stream_id = getattr(event, "activity_id", None) or event.playlist_id
        state = evolve(
            state,
            new_envelope(
                event,
                stream_id=stream_id,
                stream_version=version + offset,
                actor="t",
                occurred_at=datetime(2026, 1, offset, tzinfo=UTC),
            ),
        )
    return state


def _draft(activity_id=None) -> Activity:
    command = DraftActivity(activity_id or uuid.uuid4(), ORG, "Gardening", "Grow", "Plant")
    return _apply(None, decide_activity(None, command))


def test_drafting_then_publishing():
    activity = _draft()
    assert activity.status is Status.DRAFT and activity.version == 1
    events = decide_activity(activity, PublishActivity(activity.activity_id, ORG))
    assert isinstance(events[0], ActivityPublished) and events[0].title == "Gardening"
    published = _apply(activity, events)
    assert published.status is Status.PUBLISHED and published.version == 2
    assert published.published_at is not None


def test_publishing_twice_is_a_conflict():
    activity = _apply(_draft(), [])
    published = _apply(
        activity, decide_activity(activity, PublishActivity(activity.activity_id, ORG))
    )
    with pytest.raises(Conflict, match="already published"):
        decide_activity(published, PublishActivity(activity.activity_id, ORG))


def test_an_update_that_changes_nothing_records_nothing():
    activity = _draft()
    assert (
        decide_activity(activity, UpdateActivity(activity.activity_id, ORG, title="Gardening"))
        == []
    )
    events = decide_activity(activity, UpdateActivity(activity.activity_id, ORG, description="New"))
    assert isinstance(events[0], ActivityUpdated)
    assert (events[0].title, events[0].description) == ("Gardening", "New")


def test_archived_activities_no_longer_change():
    activity = _draft()
    archived = _apply(
        activity, decide_activity(activity, ArchiveActivity(activity.activity_id, ORG))
    )
    assert archived.status is Status.ARCHIVED
    for command in (
        UpdateActivity(activity.activity_id, ORG, title="x"),
        PublishActivity(activity.activity_id, ORG),
        ArchiveActivity(activity.activity_id, ORG),
    ):
        with pytest.raises(Conflict, match="archived"):
            decide_activity(archived, command)


def test_another_organisation_may_not_touch_an_activity():
    activity = _draft()
    with pytest.raises(Forbidden):
        decide_activity(activity, PublishActivity(activity.activity_id, OTHER_ORG))
    with pytest.raises(NotFound):
        decide_activity(None, PublishActivity(uuid.uuid4(), ORG))


def test_evolving_an_unknown_activity_is_an_error():
    event = ActivityArchived(activity_id=uuid.uuid4(), organisation_id=ORG)
    with pytest.raises(ValueError, match="never drafted"):
        evolve_activity(
            None, new_envelope(event, stream_id=event.activity_id, stream_version=1, actor="t")
        )


def test_a_playlist_is_published_only_with_published_activities_of_its_organisation():
    draft = _draft()
    foreign = Activity(**{**vars(_draft()), "organisation_id": OTHER_ORG})
    playlist_id = uuid.uuid4()
    with pytest.raises(Conflict, match="not one of your organisation"):
        decide_playlist(
            None,
            DraftPlaylist(playlist_id, ORG, "Trail", "", (foreign.activity_id,)),
            {foreign.activity_id: foreign},
        )
    with pytest.raises(Conflict, match="each activity once"):
        decide_playlist(
            None,
            DraftPlaylist(playlist_id, ORG, "Trail", "", (draft.activity_id, draft.activity_id)),
            {draft.activity_id: draft},
        )
    playlist = _apply(
        None,
        decide_playlist(
            None,
            DraftPlaylist(playlist_id, ORG, "Trail", "", (draft.activity_id,)),
            {draft.activity_id: draft},
        ),
        evolve_playlist,
    )
    with pytest.raises(Conflict, match="not published yet"):
        decide_playlist(playlist, PublishPlaylist(playlist_id, ORG), {draft.activity_id: draft})
    published_activity = _apply(
        draft, decide_activity(draft, PublishActivity(draft.activity_id, ORG))
    )
    events = decide_playlist(
        playlist, PublishPlaylist(playlist_id, ORG), {draft.activity_id: published_activity}
    )
    published = _apply(playlist, events, evolve_playlist)
    assert published.status is Status.PUBLISHED
    with pytest.raises(Conflict, match="fixed"):
        decide_playlist(published, PublishPlaylist(playlist_id, ORG), {})
