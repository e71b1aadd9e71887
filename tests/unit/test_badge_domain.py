from __future__ import annotations

import uuid

from contracts import new_envelope
from contracts.activity import ActivityPublished, PlaylistPublished
from contracts.badge import BlobRef
from services.badge.adapters.default_image import initials, render
from services.badge.domain.model import (
    badge_class_id_for,
    created_event_id,
    decide_badge_for_source,
    evolve,
)

IMAGE = BlobRef(sha256="0" * 64, size=10, media_type="image/png")


def _cause(event):
    stream_id = getattr(event, "activity_id", None) or event.playlist_id
    return new_envelope(event, stream_id=stream_id, stream_version=1, actor="t")


def test_a_published_activity_makes_one_badge_copying_its_description():
    event = ActivityPublished(
        activity_id=uuid.uuid4(),
        organisation_id=uuid.uuid4(),
        title="Gardening",
        description="Grow food in the city",
        criteria="",
    )
    cause = _cause(event)
    [created] = decide_badge_for_source(None, cause, IMAGE)
    assert created.badge_class_id == badge_class_id_for(event.activity_id)
    assert created.issuer_id == event.organisation_id
    assert created.description == "Grow food in the city"
    assert created.criteria_narrative == "Take part in the activity “Gardening”."
    badge = evolve(
        None, new_envelope(created, stream_id=created.badge_class_id, stream_version=1, actor="t")
    )
    # Published again (a redelivery): the badge already exists, nothing new is decided.
    assert decide_badge_for_source(badge, cause, IMAGE) == []
    assert created_event_id(cause) == created_event_id(cause)


def test_a_playlist_badge_requires_every_activity_of_the_playlist():
    activities = (uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    event = PlaylistPublished(
        playlist_id=uuid.uuid4(),
        organisation_id=uuid.uuid4(),
        title="Trail",
        description="Walk the city.",
        activity_ids=activities,
    )
    [created] = decide_badge_for_source(None, _cause(event), IMAGE)
    assert created.source_kind == "playlist"
    assert created.required_activity_ids == activities
    assert created.criteria_narrative.startswith("Walk the city.")
    assert "each of the 3 activities" in created.criteria_narrative


def test_the_default_image_is_a_deterministic_png():
    seed = uuid.uuid4()
    first = render("Urban gardening", seed)
    assert first.startswith(b"\x89PNG\r\n\x1a\n")
    assert render("Urban gardening", seed) == first
    assert render("Street art", seed) != first
    assert initials("urban gardening club") == "UG"
    assert initials("!!!") == "★"
