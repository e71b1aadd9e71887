"""The public catalogue's rules without a database: what is listed, how a search is read and
refused, how its SQL is built, how a badge is earned, and the activity decisions of version 3."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts import new_envelope
from contracts.activity import (
    ActivityDrafted,
    ActivityImage,
    ActivityPublished,
    ActivityUpdated,
    Place,
)
from services.activity.adapters.catalogue import alternatives_query, map_query, search_query
from services.activity.domain.catalogue import (
    MAP_LIMIT,
    PAGE_SIZE,
    BoundingBox,
    CatalogueBadge,
    CatalogueSearch,
    Kind,
    Mode,
    Way,
    is_listed,
    query_words,
    read_search,
    ways_to_earn,
    widened_query,
)
from services.activity.domain.model import (
    Activity,
    DraftActivity,
    Status,
    UpdateActivity,
    decide_activity,
    evolve_activity,
)
from services.activity.entrypoints.catalogue import (
    CatalogueWeb,
    feature,
    origin,
    page_of,
    when,
)
from services.kernel.errors import BadRequest

ORG = uuid.uuid4()
HALL = Place(name="Village hall", latitude=53.8, longitude=-1.55)


def _activity(status: Status = Status.PUBLISHED, **fields: Any) -> Activity:
    now = datetime(2027, 1, 1, tzinfo=UTC)
    base: dict[str, Any] = dict(
        activity_id=uuid.uuid4(),
        organisation_id=ORG,
        title="Urban gardening",
        description="Grow food",
        criteria="Plant",
        status=status,
        version=1,
        created_at=now,
        updated_at=now,
    )
    return Activity(**(base | fields))


# -- what is listed ---------------------------------------------------------------------------


def test_only_published_activities_are_listed():
    assert is_listed(_activity(Status.PUBLISHED))
    assert not is_listed(_activity(Status.DRAFT))
    assert not is_listed(_activity(Status.ARCHIVED))


# -- reading a search -------------------------------------------------------------------------


def test_a_search_reads_every_filter_and_ignores_empty_form_fields():
    organisation = uuid.uuid4()
    search = read_search(
        {
            "q": "  urban   gardening ",
            "organisation": str(organisation),
            "from": "2027-05-01",
            "to": "2027-05-31",
            "mode": "in_person",
            "kind": "activity",
            "page": "3",
            "bbox": "-1.6,53.75,-1.5,53.85",
            "unknown": "ignored",
        }
    )
    assert search == CatalogueSearch(
        text="urban gardening",
        organisation_id=organisation,
        starts_from=date(2027, 5, 1),
        ends_by=date(2027, 5, 31),
        mode=Mode.IN_PERSON,
        kind=Kind.ACTIVITY,
        page=3,
        bbox=BoundingBox(-1.6, 53.75, -1.5, 53.85),
    )
    assert search.offset == 2 * PAGE_SIZE
    assert search.from_instant == datetime(2027, 5, 1, tzinfo=UTC)
    assert search.until_instant == datetime(2027, 6, 1, tzinfo=UTC)  # the last day included
    empty = {"q": "", "organisation": "", "from": "", "to": "", "mode": "", "kind": "", "page": ""}
    assert read_search(empty) == CatalogueSearch()
    assert read_search(search.filters() | {"page": "3"}) == search


def test_a_bad_search_is_refused_naming_every_problem_at_once():
    with pytest.raises(BadRequest) as refused:
        read_search({"from": "May", "mode": "teleport", "page": "-1", "q": "x" * 201})
    message = refused.value.message
    for problem in (
        "from is a date as YYYY-MM-DD",
        "mode is online or in_person, not 'teleport'",
        "page is a whole number from 1 to 500",
        "the search is at most 200 characters",
    ):
        assert problem in message


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"organisation": "riverside"}, "organisation is an organisation's id"),
        ({"from": "2027-06-02", "to": "2027-06-01"}, "to is a day on or after from"),
        ({"kind": "course"}, "kind is activity or playlist"),
        ({"page": "501"}, "page is a whole number"),
        ({"page": "1.5"}, "page is a whole number"),
        ({"to": "9999-12-31"}, "to is a day from 1900-01-01 to 9000-12-31"),
        ({"kind": "playlist", "from": "2027-01-01"}, "playlists have no dates"),
        ({"bbox": "1,2,3"}, "bbox is four numbers"),
        ({"bbox": "a,b,c,d"}, "bbox is four numbers"),
        ({"bbox": "nan,0,1,1"}, "west must be between -180 and 180"),
        ({"bbox": "0,-91,1,1"}, "south must be between -90 and 90"),
        ({"bbox": "0,2,1,1"}, "south must not be north of north"),
        ({"bbox": "170,0,-170,1"}, "a box across 180° is two boxes"),
    ],
)
def test_each_bad_filter_says_what_it_should_be(params: dict[str, str], problem: str):
    with pytest.raises(BadRequest, match=problem):
        read_search(params)


def test_dates_a_way_of_taking_part_or_a_box_leave_playlists_out():
    assert not CatalogueSearch().only_activities
    assert not CatalogueSearch(text="x", organisation_id=ORG).only_activities
    assert CatalogueSearch(mode=Mode.ONLINE).only_activities
    assert CatalogueSearch(starts_from=date(2027, 1, 1)).only_activities
    assert CatalogueSearch(bbox=BoundingBox(0, 0, 1, 1)).only_activities


# -- the SQL it becomes -----------------------------------------------------------------------


def test_no_words_lists_everything_newest_first_a_page_at_a_time():
    query = search_query(CatalogueSearch(page=2))
    assert "WHERE" not in query.sql
    assert query.args == ()
    assert "ORDER BY published_at DESC, entry_id" in query.sql
    assert f"LIMIT {PAGE_SIZE} OFFSET {PAGE_SIZE}" in query.sql
    assert "count(*) OVER ()" in query.sql


def test_words_match_the_weighted_vector_ranked_by_ts_rank():
    query = search_query(CatalogueSearch(text="urban gardening"))
    assert query.args == ("urban gardening",)
    assert "WHERE search_vector @@ websearch_to_tsquery('english', $1) " in query.sql
    assert "ORDER BY ts_rank(search_vector, websearch_to_tsquery('english', $1)) DESC" in query.sql


def test_typos_widen_the_match_and_rank_after_the_words_as_asked():
    query = search_query(CatalogueSearch(text="gardneing"), "(gardneing | gardening)")
    assert query.args == ("gardneing", "(gardneing | gardening)")
    assert (
        "(search_vector @@ websearch_to_tsquery('english', $1) "
        "OR search_vector @@ to_tsquery('english', $2))" in query.sql
    )
    order = query.sql.split("ORDER BY", 1)[1]
    assert order.index("(search_vector @@ websearch") < order.index("ts_rank(search_vector, web")
    assert order.index("ts_rank(search_vector, web") < order.index("to_tsquery('english', $2)")


def test_the_words_that_may_be_typos_are_plain_lower_case_words_once_each():
    assert query_words("Urban GARDNEING, gardneing & a rooftop!") == [
        "urban",
        "gardneing",
        "rooftop",
    ]
    assert query_words('"x" -y 12 ok') == []
    assert query_words("' OR 1=1 --; DROP TABLE x") == ["drop", "table"]
    assert len(query_words(" ".join(f"word{n}" for n in range(20)))) == 8


def test_a_widened_query_takes_each_word_as_asked_or_as_a_published_word_like_it():
    widened = widened_query(["gardneing", "rooftop"], {"gardneing": ["gardening", "garden's"]})
    # A published word that could not be written into a tsquery as it is is left out.
    assert widened == "(gardneing | gardening) & rooftop"
    assert widened_query(["rooftop"], {}) == "rooftop"


def test_stand_ins_come_from_published_words_by_trigram_similarity_only_for_unknown_words():
    sql = alternatives_query("ext")
    assert "FROM unnest($1::text[]) AS a(word)" in sql
    assert "NOT EXISTS (SELECT 1 FROM catalogue_words e WHERE e.word = a.word)" in sql
    assert "w.word OPERATOR(ext.%) a.word" in sql
    assert "ORDER BY ext.similarity(w.word, a.word) DESC, w.word LIMIT 3" in sql


def test_each_filter_adds_its_condition_with_its_value_as_an_argument():
    search = CatalogueSearch(
        text="chess",
        organisation_id=ORG,
        starts_from=date(2027, 5, 1),
        ends_by=date(2027, 5, 31),
        mode=Mode.IN_PERSON,
        bbox=BoundingBox(-1.6, 53.75, -1.5, 53.85),
    )
    query = search_query(search)
    where = query.sql.split("WHERE", 1)[1].split("ORDER BY", 1)[0]
    for condition in (
        "organisation_id = $2",
        "kind = 'activity'",
        "NOT online AND place_name IS NOT NULL",
        "COALESCE(ends_at, starts_at) >= $3",
        "COALESCE(starts_at, ends_at) < $4",
        "latitude BETWEEN $5 AND $6 AND longitude BETWEEN $7 AND $8",
    ):
        assert condition in where, condition
    assert query.args == (
        "chess",
        ORG,
        datetime(2027, 5, 1, tzinfo=UTC),
        datetime(2027, 6, 1, tzinfo=UTC),
        53.75,
        53.85,
        -1.6,
        -1.5,
    )
    # No value is ever part of the SQL text.
    assert "chess" not in query.sql and str(ORG) not in query.sql


def test_online_and_kind_filters():
    online = search_query(CatalogueSearch(mode=Mode.ONLINE))
    assert "WHERE kind = 'activity' AND online" in online.sql
    playlists = search_query(CatalogueSearch(kind=Kind.PLAYLIST))
    assert "kind = $1" in playlists.sql and playlists.args == ("playlist",)


def test_the_map_takes_in_person_activities_with_a_point_and_one_more_than_it_shows():
    query = map_query(CatalogueSearch(text="garden", page=4))
    for condition in ("kind = 'activity'", "NOT online", "latitude IS NOT NULL"):
        assert condition in query.sql
    assert f"LIMIT {MAP_LIMIT + 1}" in query.sql and "OFFSET" not in query.sql


# -- how a badge is earned --------------------------------------------------------------------


def _badge(**fields: Any) -> CatalogueBadge:
    base: dict[str, Any] = dict(
        badge_class_id=uuid.uuid4(),
        source_kind="activity",
        source_id=uuid.uuid4(),
        name="Urban gardening",
        description="",
        criteria="",
    )
    return CatalogueBadge(**(base | fields))


def test_an_activity_badge_is_earned_by_email_and_by_its_open_link_unless_it_is_off():
    assert [way for way, _ in ways_to_earn(_badge())] == [Way.EMAIL, Way.OPEN_LINK]
    assert [way for way, _ in ways_to_earn(_badge(open_link=False))] == [Way.EMAIL]


def test_an_evidence_badge_is_a_quest_naming_its_tasks_and_who_approves():
    ways = ways_to_earn(_badge(evidence_mode="peer", task_titles=("A photo", "A story")))
    assert [way for way, _ in ways] == [Way.EMAIL, Way.OPEN_LINK, Way.QUEST]
    assert "(A photo, A story)" in ways[2][1] and "other learners review it" in ways[2][1]
    assert "you confirm it yourself" in ways_to_earn(_badge(evidence_mode="self"))[2][1]


def test_a_playlist_badge_is_earned_by_holding_its_activities_badges():
    assert [way for way, _ in ways_to_earn(_badge(source_kind="playlist"))] == [Way.PLAYLIST]


# -- version 3 decisions and evolve -----------------------------------------------------------


def test_an_activity_is_drafted_and_updated_with_its_language_picture_link_and_online():
    image = ActivityImage(url="https://example.org/a.jpg", alt="Seedlings")
    draft = DraftActivity(
        uuid.uuid4(), ORG, "Compost", "", "", online=True, language="cy", image=image,
        signup_url="https://example.org/book",
    )  # fmt: skip
    [event] = decide_activity(None, draft)
    assert isinstance(event, ActivityDrafted)
    assert (event.online, event.language, event.image, event.signup_url) == (
        True,
        "cy",
        image,
        "https://example.org/book",
    )
    state = _activity(Status.DRAFT, online=True, language="cy", image=image)
    # Moving it to a place means not online any more: both in one update.
    [moved] = decide_activity(
        state, UpdateActivity(state.activity_id, ORG, online=False, place=HALL)
    )
    assert isinstance(moved, ActivityUpdated)
    assert (moved.online, moved.place, moved.language) == (False, HALL, "cy")
    # null empties; leaving a field out keeps it.
    [emptied] = decide_activity(state, UpdateActivity(state.activity_id, ORG, image=None))
    assert isinstance(emptied, ActivityUpdated)
    assert (emptied.image, emptied.language, emptied.online) == (None, "cy", True)
    assert decide_activity(state, UpdateActivity(state.activity_id, ORG, language="cy")) == []


def test_an_activity_online_and_at_a_place_is_refused():
    with pytest.raises(BadRequest, match="an online activity has no place"):
        decide_activity(
            None, DraftActivity(uuid.uuid4(), ORG, "Chess", "", "", place=HALL, online=True)
        )
    at_hall = _activity(Status.DRAFT, place=HALL)
    with pytest.raises(BadRequest, match="an online activity has no place"):
        decide_activity(at_hall, UpdateActivity(at_hall.activity_id, ORG, online=True))
    online = _activity(Status.DRAFT, online=True)
    with pytest.raises(BadRequest, match="an online activity has no place"):
        decide_activity(online, UpdateActivity(online.activity_id, ORG, place=HALL))


def test_evolve_keeps_the_version_3_fields():
    image = ActivityImage(url="https://example.org/a.jpg", alt="Seedlings")
    state = _activity(Status.DRAFT)
    event = ActivityPublished(
        activity_id=state.activity_id, organisation_id=ORG, title="T", description="",
        criteria="", starts_at=None, ends_at=None, place=None, online=True, language="en",
        image=image, signup_url="http://example.org/",
    )  # fmt: skip
    envelope = new_envelope(event, stream_id=state.activity_id, stream_version=2, actor="test")
    after = evolve_activity(state, envelope)
    assert (after.online, after.language, after.image, after.signup_url, after.status) == (
        True,
        "en",
        image,
        "http://example.org/",
        Status.PUBLISHED,
    )


# -- what the pages show ----------------------------------------------------------------------


def test_dates_are_said_in_words_in_utc():
    start = datetime(2027, 5, 1, 9, tzinfo=UTC)
    assert when({"starts_at": start, "ends_at": start.replace(hour=15)}) == (
        "Sat 1 May 2027, 09:00–15:00 UTC"
    )
    assert when({"starts_at": start, "ends_at": None}) == "From Sat 1 May 2027, 09:00 UTC"
    assert when({"starts_at": None, "ends_at": None}) == ""


def test_the_pages_are_at_the_addresses_others_link_to():
    entry_id = uuid.uuid4()
    assert page_of("activity", entry_id) == f"/catalogue/activities/{entry_id}"
    assert page_of("playlist", entry_id) == f"/catalogue/playlists/{entry_id}"


def test_a_feature_is_longitude_then_latitude_with_its_page():
    entry_id = uuid.uuid4()
    entry = {
        "entry_id": entry_id, "title": "Chess", "organisation_name": "Hillside",
        "place_name": "Hall", "place_address": None, "latitude": 53.8, "longitude": -1.5,
        "starts_at": None, "ends_at": None,
    }  # fmt: skip
    found = feature(entry)
    assert found["geometry"] == {"type": "Point", "coordinates": [-1.5, 53.8]}
    assert found["properties"]["url"] == f"/catalogue/activities/{entry_id}"


def test_pages_load_images_from_the_badge_service_and_tile_server_and_scripts_from_here():
    web = CatalogueWeb(
        reader=None,  # type: ignore[arg-type]
        badge_public_url="http://127.0.0.1:8002",
        tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png",
        attribution="©",
    )
    policy = web.content_security_policy
    assert "img-src 'self' data: https: http://127.0.0.1:8002 https://*.tile.example.org" in policy
    assert "script-src 'self';" in policy and "connect-src 'self'" in policy
    assert origin("http://127.0.0.1:9/{z}/{x}/{y}.png") == "http://127.0.0.1:9"
