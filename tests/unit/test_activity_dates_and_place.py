"""An activity's dates and place: set when drafted, changed or emptied by an update, carried
by every content event and kept in the state."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import new_envelope
from contracts.activity import (
    ActivityContent,
    ActivityDrafted,
    ActivityEvent,
    ActivityPublished,
    ActivityUpdated,
    Place,
)
from services.activity.domain.model import (
    Activity,
    DraftActivity,
    PublishActivity,
    UpdateActivity,
    decide_activity,
    evolve_activity,
)
from services.kernel.errors import BadRequest

ORG = uuid.uuid4()
STARTS = datetime(2027, 4, 17, 10, tzinfo=UTC)
ENDS = STARTS + timedelta(hours=6)
GARDEN = Place(name="Community garden", address="12 Mill Lane", latitude=53.8, longitude=-1.55)


def _apply(state: Activity | None, events: list[ActivityEvent]) -> Activity:
    for event in events:
        version = state.version + 1 if state else 1
        envelope: Any = new_envelope(
            event, stream_id=uuid.uuid4(), stream_version=version, actor="t"
        )
        state = evolve_activity(state, envelope)
    assert state is not None
    return state


def _drafted(**fields: object) -> Activity:
    command = DraftActivity(uuid.uuid4(), ORG, "Planting day", "", "", **fields)  # type: ignore[arg-type]
    return _apply(None, decide_activity(None, command))


def test_a_draft_carries_its_dates_and_place_into_the_event_and_the_state():
    [event] = decide_activity(
        None,
        DraftActivity(uuid.uuid4(), ORG, "Planting day", "", "", STARTS, ENDS, GARDEN),
    )
    assert isinstance(event, ActivityDrafted)
    assert (event.starts_at, event.ends_at, event.place) == (STARTS, ENDS, GARDEN)
    state = _apply(None, [event])
    assert (state.starts_at, state.ends_at, state.place) == (STARTS, ENDS, GARDEN)


def test_a_draft_without_them_has_none():
    state = _drafted()
    assert (state.starts_at, state.ends_at, state.place) == (None, None, None)


def test_an_update_leaves_out_what_it_does_not_name_and_empties_what_it_sets_to_none():
    state = _drafted(starts_at=STARTS, ends_at=ENDS, place=GARDEN)
    [moved] = decide_activity(state, UpdateActivity(state.activity_id, ORG, ends_at=None))
    assert isinstance(moved, ActivityUpdated)
    assert (moved.starts_at, moved.ends_at, moved.place) == (STARTS, None, GARDEN)
    state = _apply(state, [moved])
    assert state.ends_at is None and state.place == GARDEN

    hall = Place(name="Village hall")
    [placed] = decide_activity(state, UpdateActivity(state.activity_id, ORG, place=hall))
    assert isinstance(placed, ActivityUpdated) and placed.place == hall
    assert _apply(state, [placed]).place == hall


def test_an_update_to_the_same_dates_and_place_changes_nothing():
    state = _drafted(starts_at=STARTS, place=GARDEN)
    same = UpdateActivity(state.activity_id, ORG, starts_at=STARTS, ends_at=None, place=GARDEN)
    assert decide_activity(state, same) == []
    # The same instant in another zone is the same start.
    elsewhere = STARTS.astimezone(datetime.now().astimezone().tzinfo)
    assert decide_activity(state, UpdateActivity(state.activity_id, ORG, starts_at=elsewhere)) == []


def test_a_title_only_update_keeps_the_dates_and_place_in_the_event():
    state = _drafted(starts_at=STARTS, ends_at=ENDS, place=GARDEN)
    [event] = decide_activity(state, UpdateActivity(state.activity_id, ORG, title="Sowing day"))
    assert isinstance(event, ActivityContent)
    assert (event.title, event.starts_at, event.ends_at, event.place) == (
        "Sowing day",
        STARTS,
        ENDS,
        GARDEN,
    )


def test_publishing_carries_the_dates_and_place_to_the_badge_service():
    state = _drafted(starts_at=STARTS, ends_at=ENDS, place=GARDEN)
    [event] = decide_activity(state, PublishActivity(state.activity_id, ORG))
    assert isinstance(event, ActivityPublished)
    assert (event.starts_at, event.ends_at, event.place) == (STARTS, ENDS, GARDEN)


def test_an_activity_cannot_end_before_it_starts():
    with pytest.raises(BadRequest, match="cannot end before it starts"):
        decide_activity(
            None,
            DraftActivity(
                uuid.uuid4(), ORG, "Backwards", "", "", STARTS, STARTS - timedelta(minutes=1)
            ),
        )
    state = _drafted(starts_at=STARTS, ends_at=ENDS)
    # Checked against what the activity already says, not only against the update.
    with pytest.raises(BadRequest, match="cannot end before it starts"):
        decide_activity(
            state, UpdateActivity(state.activity_id, ORG, ends_at=STARTS - timedelta(minutes=1))
        )
    with pytest.raises(BadRequest, match="cannot end before it starts"):
        decide_activity(
            state, UpdateActivity(state.activity_id, ORG, starts_at=ENDS + timedelta(hours=1))
        )
    # Moving both together is fine.
    later = UpdateActivity(
        state.activity_id, ORG, starts_at=ENDS, ends_at=ENDS + timedelta(hours=1)
    )
    assert len(decide_activity(state, later)) == 1
