from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts import new_envelope
from contracts.activity import ActivityPublished, PlaylistPublished
from contracts.badge import BadgeClassEdited, BlobRef, OpenLink
from services.badge.adapters.default_image import initials, render
from services.badge.domain.model import (
    BadgeClass,
    Offer,
    OpenLinkRefused,
    badge_class_id_for,
    check_open_link,
    check_open_link_room,
    claim_refusal,
    created_event_id,
    decide_badge_for_source,
    edit_badge,
    evolve,
    legacy_playlist_assertion_id,
    open_link_allowed,
    playlist_assertion_id,
)
from services.kernel.errors import Conflict

IMAGE = BlobRef(sha256="0" * 64, size=10, media_type="image/png")
IMAGE_EVENT = PlaylistPublished(
    playlist_id=uuid.uuid4(),
    organisation_id=uuid.uuid4(),
    title="T",
    description="",
    activity_ids=(),
)


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
        starts_at=None,
        ends_at=None,
        place=None,
    )
    cause = _cause(event)
    [created] = decide_badge_for_source(None, cause, IMAGE)
    assert created.badge_class_id == badge_class_id_for(event.activity_id)
    assert created.issuer_id == event.organisation_id
    assert created.description == "Grow food in the city"
    assert created.criteria_narrative == "Take part in the activity “Gardening”."
    badge = evolve(
        None, new_envelope(created, stream_id=created.badge_class_id, stream_version=1, actor="t")
    ).badge_class
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


def _badge_of(event):
    [created] = decide_badge_for_source(None, _cause(event), IMAGE)
    return created, evolve(
        None, new_envelope(created, stream_id=created.badge_class_id, stream_version=1, actor="t")
    ).badge_class


def _playlist_badge():
    return _badge_of(
        PlaylistPublished(
            playlist_id=uuid.uuid4(),
            organisation_id=uuid.uuid4(),
            title="Trail",
            description="",
            activity_ids=(uuid.uuid4(),),
        )
    )


def _activity_badge():
    return _badge_of(
        ActivityPublished(
            activity_id=uuid.uuid4(),
            organisation_id=uuid.uuid4(),
            title="Knots",
            description="",
            criteria="",
            starts_at=None,
            ends_at=None,
            place=None,
        )
    )


def _open_offer(badge, generation=1):
    return Offer(
        offer_id=uuid.uuid4(),
        badge_class_id=badge.badge_class_id,
        recipient_email="a@example.org",
        via="open_link",
        expires_at=datetime.now(UTC) + timedelta(days=90),
        open_link_generation=generation,
    )


def test_a_playlist_badge_is_never_claimed_through_an_open_link():
    _, playlist = _playlist_badge()
    assert not playlist.open_link.enabled and not open_link_allowed(playlist)
    with pytest.raises(OpenLinkRefused) as refused:
        check_open_link(playlist, 1, datetime.now(UTC))
    assert refused.value.reason == "earned_only"
    with pytest.raises(Conflict, match="earned"):
        edit_badge(playlist, {"open_link": OpenLink(enabled=True)})
    # Settings recorded under earlier rules (the link on) give nothing when a claim is decided.
    created, _ = _playlist_badge()
    old = evolve(
        evolve(
            None,
            new_envelope(created, stream_id=created.badge_class_id, stream_version=1, actor="t"),
        ),
        new_envelope(
            BadgeClassEdited(
                badge_class_id=created.badge_class_id,
                name=created.name,
                description=created.description,
                criteria_narrative=created.criteria_narrative,
                image=created.image,
                open_link=OpenLink(enabled=True),
            ),
            stream_id=created.badge_class_id,
            stream_version=2,
            actor="t",
        ),
    ).badge_class
    assert not old.open_link.enabled
    raw = BadgeClass(**{**vars(old), "open_link": OpenLink(enabled=True)})
    assert claim_refusal(raw, _open_offer(raw), datetime.now(UTC), False) == "revoked"
    # Its other settings can still be edited.
    assert edit_badge(playlist, {"name": "Trail badge"}) is not None


def test_an_activity_badge_has_its_open_link_on_and_keeps_a_badge_for_each_learner_mailed():
    _, badge = _activity_badge()
    assert badge.open_link.enabled and badge.open_link.max_claims is None
    check_open_link(badge, 1, datetime.now(UTC))
    check_open_link_room(badge, 1_000)
    limited = BadgeClass(**{**vars(badge), "open_link": OpenLink(max_claims=2)})
    check_open_link_room(limited, 1)
    with pytest.raises(OpenLinkRefused) as refused:
        check_open_link_room(limited, 2)
    assert refused.value.reason == "limit_reached"
    assert claim_refusal(limited, _open_offer(limited), datetime.now(UTC), False) is None


def test_a_playlist_award_id_follows_from_log_ids_not_from_the_email():
    playlist, email = uuid.uuid4(), "learner@example.org"
    first = new_envelope(IMAGE_EVENT, stream_id=uuid.uuid4(), stream_version=1, actor="t")
    second = new_envelope(IMAGE_EVENT, stream_id=uuid.uuid4(), stream_version=1, actor="t")
    legacy = legacy_playlist_assertion_id(playlist, email)
    ids = {playlist_assertion_id(cause, playlist, email) for cause in (first, second)}
    assert len(ids) == 2 and legacy not in ids
    assert playlist_assertion_id(first, playlist, email) == playlist_assertion_id(
        first, playlist, " Learner@Example.org "
    )
