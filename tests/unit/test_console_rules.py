"""The console's own small rules, without a server: reordering a playlist, what stops it from
being published, search and filters, the dashboard's counts, reading form dates and places,
where to go after signing in, which keys are the organiser's, and how a refusal is read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from services.console import forms
from services.console.backends import refusal_of
from services.console.pages.activities import matches
from services.console.pages.dashboard import rows
from services.console.pages.keys import live, own_keys
from services.console.pages.playlists import moved, unpublished
from services.console.signed_in import Session, safe_next


def test_moving_an_activity_swaps_it_with_its_neighbour_and_stops_at_the_ends():
    order = ["a", "b", "c"]
    assert moved(order, "b", -1) == ["b", "a", "c"]
    assert moved(order, "b", +1) == ["a", "c", "b"]
    assert moved(order, "a", -1) == order
    assert moved(order, "c", +1) == order
    assert moved(order, "x", -1) == order
    assert order == ["a", "b", "c"]


def test_a_playlist_waits_for_each_unpublished_activity_by_name():
    playlist = {"activity_ids": ["1", "2", "3"]}
    activities = {
        "1": {"title": "Gardening", "status": "published"},
        "2": {"title": "Compost", "status": "draft"},
    }
    assert unpublished(playlist, activities) == ["Compost", "an activity that no longer exists"]
    assert unpublished({"activity_ids": ["1"]}, activities) == []


def test_search_finds_every_word_in_the_title_or_description_and_filters_by_status():
    item = {"title": "Urban gardening", "description": "Grow food", "status": "draft"}
    assert matches(item, "", "")
    assert matches(item, "garden FOOD", "draft")
    assert not matches(item, "garden", "published")
    assert not matches(item, "compost", "")
    assert matches(item, "garden", "not-a-status")  # an unknown filter filters nothing


def test_the_dashboard_puts_each_badges_counts_beside_its_activity_or_playlist():
    activity, playlist, draft = (str(uuid.uuid4()) for _ in range(3))
    badge = str(uuid.uuid4())
    found = rows(
        [
            {"id": activity, "title": "A", "status": "published", "updated_at": "2026-12-02"},
            {"id": draft, "title": "D", "status": "draft", "updated_at": "2026-12-01"},
        ],
        [{"id": playlist, "title": "P", "status": "published", "updated_at": "2026-12-03"}],
        [{"badge_class_id": badge, "source_id": activity, "offered": 5, "claimed": 2}],
        [{"badge_class_id": badge}, {"badge_class_id": badge}, {"badge_class_id": "other"}],
    )
    assert [r["title"] for r in found] == ["P", "A", "D"]
    by_title = {r["title"]: r for r in found}
    assert (by_title["A"]["offered"], by_title["A"]["claimed"]) == (5, 2)
    assert by_title["A"]["pending_review"] == 2
    assert by_title["A"]["path"] == f"/activities/{activity}"
    assert by_title["D"]["badge"] is None and by_title["D"]["offered"] == 0
    assert by_title["P"]["path"] == f"/playlists/{playlist}"


def test_a_form_date_gets_its_offset_and_a_bad_one_is_told_by_field():
    problems: dict[str, str] = {}
    assert forms.moment("2027-05-01T10:00", "+01:00", "starts_at", problems) == (
        "2027-05-01T10:00:00+01:00"
    )
    assert forms.moment("", "+01:00", "starts_at", problems) is None
    assert problems == {}
    forms.moment("tomorrow", "+00:00", "ends_at", problems)
    forms.moment("2027-05-01T10:00", "+99:00", "starts_at", problems)
    assert set(problems) == {"ends_at", "starts_at"}
    assert forms.as_input("2027-05-01T09:00:00Z") == "2027-05-01T09:00"


def test_a_place_needs_a_name_and_numbers_for_its_point():
    problems: dict[str, str] = {}
    assert forms.place({}, problems) is None
    found = forms.place({"place_name": "Garden", "latitude": "53.8", "longitude": "-1.5"}, problems)
    assert found == {"name": "Garden", "address": None, "latitude": 53.8, "longitude": -1.5}
    assert problems == {}
    forms.place({"place_address": "12 Mill Lane", "latitude": "north"}, problems)
    assert set(problems) == {"place.name", "place.latitude"}


def test_after_signing_in_only_a_path_on_the_console_is_followed():
    assert safe_next("/activities?q=x") == "/activities?q=x"
    for elsewhere in ("https://evil.example", "//evil.example", "/\\evil.example", "", None):
        assert safe_next(elsewhere) == "/"


def test_the_organisers_own_keys_of_a_purpose_and_which_still_work():
    me, colleague = uuid.uuid4(), uuid.uuid4()
    session = Session(me, uuid.uuid4(), "a@b.org", "obk_0123456789ab_secret")
    now = datetime.now(UTC)
    keys = [
        {"key_id": "1", "organiser_id": str(me), "purpose": "api", "issued_at": "2026-12-01"},
        {"key_id": "2", "organiser_id": str(me), "purpose": "session", "issued_at": "2026-12-02"},
        {"key_id": "3", "organiser_id": str(colleague), "purpose": "api", "issued_at": "2026"},
        {"key_id": "4", "organiser_id": str(me), "issued_at": "2026-12-03"},
    ]
    assert [k["key_id"] for k in own_keys(keys, session, "api")] == ["4", "1"]
    assert [k["key_id"] for k in own_keys(keys, session, "session")] == ["2"]
    assert session.key_id == "0123456789ab"
    later = (now + timedelta(hours=1)).isoformat()
    earlier = (now - timedelta(seconds=1)).isoformat()
    assert live({"revoked": False, "expires_at": later}, now)
    assert not live({"revoked": False, "expires_at": earlier}, now)
    assert not live({"revoked": True, "expires_at": None}, now)
    assert live({"revoked": False, "expires_at": None}, now)


def test_a_refusal_keeps_its_status_message_and_fields():
    answer = httpx.Response(
        422,
        json={
            "error": "the request is not valid",
            "details": [{"where": "body.place.latitude", "problem": "too far north"}],
        },
    )
    refused = refusal_of(answer)
    assert (refused.status, refused.message) == (422, "the request is not valid")
    assert refused.fields == {"place.latitude": "too far north"}
    assert refusal_of(httpx.Response(409, text="not json")).status == 409
