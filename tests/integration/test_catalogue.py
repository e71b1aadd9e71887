"""The public catalogue on a platform of its own: search ranking, typos, filters, the pages,
the GeoJSON, and that drafts and archived activities never appear anywhere in it."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from markupsafe import escape

from tests.support import Platform, badge_of, bearer, wait_for
from tests.support_catalogue import sent

LEEDS = {"name": "Riverside community garden", "address": "12 Mill Lane, Leeds",
         "latitude": 53.7997, "longitude": -1.5492}  # fmt: skip
BRADFORD = {"name": "Bradford makerspace", "latitude": 53.7950, "longitude": -1.7594}
LEEDS_BOX = "-1.60,53.75,-1.50,53.85"


async def _activity(
    http: httpx.AsyncClient,
    platform: Platform,
    who: dict[str, str],
    *,
    publish: bool = True,
    archive: bool = False,
    **body: Any,
) -> str:
    activities = f"{platform.url('activity')}/v1/activities"
    created = await sent(lambda: http.post(activities, headers=bearer(who), json=body))
    assert created.status_code == 201, created.text
    activity_id: str = created.json()["id"]
    if publish:
        answer = await sent(
            lambda: http.post(f"{activities}/{activity_id}/publish", headers=bearer(who))
        )
        assert answer.status_code == 200, answer.text
    if archive:
        answer = await sent(
            lambda: http.post(f"{activities}/{activity_id}/archive", headers=bearer(who))
        )
        assert answer.status_code == 200, answer.text
    return activity_id


@pytest.fixture(scope="module")
async def world(platform: Platform, organiser: dict[str, str], other_organiser: dict[str, str]):
    """Two organisations' activities and playlists, some never published or archived."""
    async with httpx.AsyncClient(timeout=30) as http:
        ids: dict[str, str] = {}
        ids["gardening"] = await _activity(
            http, platform, organiser,
            title="Urban gardening",
            description="Grow vegetables on a city rooftop with compost and seedlings.",
            criteria="Plant three seeds.",
            starts_at="2027-05-01T09:00:00Z", ends_at="2027-05-01T15:00:00Z",
            place=LEEDS, language="en-gb",
            image={"url": "https://riverside.example.org/img/garden.jpg",
                   "alt": "Raised beds on a rooftop"},
            signup_url="https://riverside.example.org/book/gardening",
        )  # fmt: skip
        ids["compost"] = await _activity(
            http, platform, organiser,
            title="Compost club",
            description="Turn kitchen scraps into soil, from home.",
            criteria="Write about gardening with your compost.",
            online=True, language="cy",
            starts_at="2027-07-03T18:00:00Z",
        )  # fmt: skip
        ids["draft"] = await _activity(
            http, platform, organiser, publish=False,
            title="Secret gardening plans", description="Gardening draft", place=LEEDS,
        )  # fmt: skip
        ids["archived"] = await _activity(
            http, platform, organiser, archive=True,
            title="Old gardening walk", description="Gardening, no longer", place=LEEDS,
        )  # fmt: skip
        ids["coding"] = await _activity(
            http, platform, other_organiser,
            title="Coding for beginners", description="Build a website with HTML.",
            starts_at="2027-06-10T10:00:00Z", place=BRADFORD,
        )  # fmt: skip
        ids["python"] = await _activity(
            http, platform, other_organiser,
            title="Python at home", description="Programs that water plants.", online=True,
        )  # fmt: skip
        ids["chess"] = await _activity(
            http, platform, other_organiser,
            title="Village hall chess", description="Openings and endgames.",
            place={"name": "Village hall"},
        )  # fmt: skip
        playlists = f"{platform.url('activity')}/v1/playlists"
        created = await sent(
            lambda: http.post(
                playlists,
                headers=bearer(organiser),
                json={
                    "title": "Green city skills",
                    "description": "Gardening and compost, in two steps.",
                    "activity_ids": [ids["gardening"], ids["compost"]],
                },
            )
        )
        assert created.status_code == 201, created.text
        ids["playlist"] = created.json()["id"]
        published = await sent(
            lambda: http.post(f"{playlists}/{ids['playlist']}/publish", headers=bearer(organiser))
        )
        assert published.status_code == 200, published.text
        draft_playlist = await sent(
            lambda: http.post(
                playlists,
                headers=bearer(organiser),
                json={"title": "Gardening playlist draft", "activity_ids": [ids["gardening"]]},
            )
        )
        ids["draft_playlist"] = draft_playlist.json()["id"]
        # The badges are made by the badge service and come back through badge.events.
        for name in ("gardening", "compost", "coding", "python", "chess", "playlist"):
            await badge_of(http, platform, organiser if name in ("gardening", "compost",
                           "playlist") else other_organiser, ids[name])  # fmt: skip
        await platform.caught_up("activity", "badge.events")
        await platform.caught_up("activity", "activity.events")
        ids["riverside"] = organiser["organisation_id"]
        ids["hillside"] = other_organiser["organisation_id"]
        return ids


def _catalogue(platform: Platform) -> str:
    return f"{platform.url('activity')}/catalogue"


async def _found(http: httpx.AsyncClient, platform: Platform, **params: str) -> list[str]:
    answer = await http.get(
        _catalogue(platform), params=params, headers={"Accept": "application/json"}
    )
    assert answer.status_code == 200, answer.text
    for result in answer.json()["results"]:
        folder = {"activity": "activities", "playlist": "playlists"}[result["kind"]]
        assert result["url"] == f"/catalogue/{folder}/{result['id']}"
    return [result["id"] for result in answer.json()["results"]]


async def _mapped(http: httpx.AsyncClient, platform: Platform, **params: str) -> set[str]:
    answer = await http.get(f"{_catalogue(platform)}/map.geojson", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/geo+json")
    collection = answer.json()
    assert collection["type"] == "FeatureCollection"
    for feature in collection["features"]:
        assert feature["geometry"]["type"] == "Point"
    return {feature["id"] for feature in collection["features"]}


async def test_search_ranks_a_title_above_a_description_above_the_criteria(
    http: httpx.AsyncClient, platform: Platform, world: dict[str, str]
):
    found = await _found(http, platform, q="gardening")
    # Title (A), then the playlist's description (B), then criteria (D); never the draft or
    # the archived one, though "gardening" is in their titles.
    assert found == [world["gardening"], world["playlist"], world["compost"]]
    # Stems: "gardens" finds "gardening".
    assert (await _found(http, platform, q="gardens"))[0] == world["gardening"]
    # The organiser's name is searched too.
    hillside = await _found(http, platform, q="Hillside")
    assert set(hillside) == {world["coding"], world["python"], world["chess"]}


async def test_a_typo_still_finds_the_activity_after_the_exact_matches(
    http: httpx.AsyncClient, platform: Platform, world: dict[str, str]
):
    assert await _found(http, platform, q="vegetabels") == [world["gardening"]]
    assert world["gardening"] in await _found(http, platform, q="gardneing")
    assert (await _found(http, platform, q="webiste"))[0] == world["coding"]
    assert await _found(http, platform, q="zzqxj") == []
    # Never a draft or an archived activity, through a typo either.
    for text in ("secret gardneing", "old gardenign walk", "Secret gardening plans"):
        found = set(await _found(http, platform, q=text))
        assert not found & {world["draft"], world["archived"], world["draft_playlist"]}


async def test_filters_narrow_the_search(
    http: httpx.AsyncClient, platform: Platform, world: dict[str, str]
):
    mine = set(await _found(http, platform, organisation=world["riverside"]))
    assert mine == {world["gardening"], world["compost"], world["playlist"]}
    online = set(await _found(http, platform, mode="online"))
    assert online == {world["compost"], world["python"]}
    in_person = set(await _found(http, platform, mode="in_person"))
    assert in_person == {world["gardening"], world["coding"], world["chess"]}
    assert await _found(http, platform, kind="playlist") == [world["playlist"]]
    activities = set(await _found(http, platform, kind="activity"))
    assert activities == {world[n] for n in ("gardening", "compost", "coding", "python", "chess")}
    may = set(await _found(http, platform, **{"from": "2027-05-01", "to": "2027-05-31"}))
    assert may == {world["gardening"]}
    summer = set(await _found(http, platform, **{"from": "2027-06-01"}))
    assert summer == {world["coding"], world["compost"]}
    assert set(await _found(http, platform, q="gardening", mode="online")) == {world["compost"]}
    everything = set(await _found(http, platform))
    assert everything == {
        world[n] for n in ("gardening", "compost", "coding", "python", "chess", "playlist")
    }


async def test_bad_filters_are_refused_saying_what_to_fix(
    http: httpx.AsyncClient, platform: Platform, world: dict[str, str]
):
    for params, problem in (
        ({"from": "1 May"}, "from is a date as YYYY-MM-DD"),
        ({"mode": "teleport"}, "mode is online or in_person"),
        ({"kind": "course"}, "kind is activity or playlist"),
        ({"page": "0"}, "page is a whole number"),
        ({"organisation": "riverside"}, "organisation is an organisation's id"),
        ({"from": "2027-06-01", "to": "2027-05-01"}, "to is a day on or after from"),
        ({"kind": "playlist", "mode": "online"}, "playlists have no dates"),
    ):
        answer = await http.get(
            _catalogue(platform), params=params, headers={"Accept": "application/json"}
        )
        assert answer.status_code == 400, (params, answer.text)
        assert problem in answer.json()["error"]
        page = await http.get(_catalogue(platform), params=params, headers={"Accept": "text/html"})
        assert page.status_code == 400
        assert page.headers["content-type"].startswith("text/html")
        assert str(escape(problem)) in page.text and '<form class="filters"' in page.text
    for box in ("1,2,3", "a,b,c,d", "-1,54,-2,53", "0,91,1,92", "-181,0,0,1"):
        answer = await http.get(f"{_catalogue(platform)}/map.geojson", params={"bbox": box})
        assert answer.status_code == 400, (box, answer.text)
        assert "bbox" in answer.json()["error"]


async def test_the_geojson_holds_exactly_the_in_person_activities_the_filter_finds(
    http: httpx.AsyncClient, platform: Platform, world: dict[str, str]
):
    # The chess club is in person but has no point; drafts and archived ones have one.
    assert await _mapped(http, platform) == {world["gardening"], world["coding"]}
    assert await _mapped(http, platform, bbox=LEEDS_BOX) == {world["gardening"]}
    assert await _mapped(http, platform, organisation=world["hillside"]) == {world["coding"]}
    assert await _mapped(http, platform, q="webiste") == {world["coding"]}
    assert await _mapped(http, platform, q="gardening", bbox=LEEDS_BOX) == {world["gardening"]}
    assert await _mapped(http, platform, **{"from": "2027-06-01"}) == {world["coding"]}
    assert await _mapped(http, platform, mode="online") == set()
    assert await _mapped(http, platform, bbox="10,10,11,11") == set()
    answer = await http.get(f"{_catalogue(platform)}/map.geojson", params={"bbox": LEEDS_BOX})
    [feature] = answer.json()["features"]
    assert feature["geometry"]["coordinates"] == [LEEDS["longitude"], LEEDS["latitude"]]
    assert feature["properties"]["url"] == f"/catalogue/activities/{world['gardening']}"
    assert feature["properties"]["title"] == "Urban gardening"
    # The map page lists the same activities, for browsers without the map.
    page = await http.get(f"{_catalogue(platform)}/map", headers={"Accept": "text/html"})
    assert page.status_code == 200
    listed = {i for i in world.values() if f"/catalogue/activities/{i}" in page.text}
    assert listed == {world["gardening"], world["coding"]}


async def test_an_activity_page_says_what_when_where_and_how_to_earn_its_badge(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str], world: dict[str, str]
):
    url = f"{_catalogue(platform)}/activities/{world['gardening']}"
    page = await http.get(url, headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    for text in (
        "Urban gardening",
        "Grow vegetables on a city rooftop",
        "Riverside Youth Centre",
        "Sat 1 May 2027, 09:00–15:00 UTC",
        "Riverside community garden, 12 Mill Lane, Leeds",
        "English (en-GB)",
        'href="https://riverside.example.org/book/gardening"',
        'alt="Raised beds on a rooftop"',
        "By email",
        "By open link",
        f"/catalogue/playlists/{world['playlist']}",
        f"/catalogue/organisations/{world['riverside']}",
    ):
        assert text in page.text, text
    assert "By evidence quest" not in page.text
    assert "img-src" in page.headers["content-security-policy"]

    # The organiser makes it an evidence quest: the page says so, from badge.events.
    badge = await badge_of(http, platform, organiser, world["gardening"])
    edited = await sent(
        lambda: http.patch(
            f"{platform.url('badge')}/v1/badges/{badge['id']}",
            headers=bearer(organiser),
            json={
                "evidence_mode": "organiser",
                "tasks": [{"title": "A photo of your seedlings", "kind": "file"}],
                "open_link": {"enabled": False},
            },
        )
    )
    assert edited.status_code == 200, edited.text

    async def quest() -> Any:
        answer = await http.get(url, headers={"Accept": "application/json"})
        ways = [way["way"] for way in answer.json()["badge"]["how_to_earn"]]
        return answer.json() if "quest" in ways else None

    shown = await wait_for(quest)
    assert [way["way"] for way in shown["badge"]["how_to_earn"]] == ["email", "quest"]
    assert "A photo of your seedlings" in shown["badge"]["how_to_earn"][1]["text"]
    assert shown["language"] == "en-GB" and shown["online"] is False


async def test_a_playlist_page_lists_its_activities_in_order_and_its_badge(
    http: httpx.AsyncClient, platform: Platform, world: dict[str, str]
):
    url = f"{_catalogue(platform)}/playlists/{world['playlist']}"
    answer = await http.get(url, headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.text
    assert [a["id"] for a in answer.json()["activities"]] == [world["gardening"], world["compost"]]
    assert [w["way"] for w in answer.json()["badge"]["how_to_earn"]] == ["playlist"]
    page = await http.get(url, headers={"Accept": "text/html"})
    assert page.text.index("Urban gardening") < page.text.index("Compost club")


async def test_an_organisation_page_lists_only_what_it_published(
    http: httpx.AsyncClient, platform: Platform, world: dict[str, str]
):
    url = f"{_catalogue(platform)}/organisations/{world['riverside']}"
    answer = await http.get(url, headers={"Accept": "application/json"})
    assert answer.status_code == 200, answer.text
    assert {a["id"] for a in answer.json()["activities"]} == {world["gardening"], world["compost"]}
    assert [p["id"] for p in answer.json()["playlists"]] == [world["playlist"]]
    page = await http.get(url, headers={"Accept": "text/html"})
    assert "Secret gardening plans" not in page.text and "Old gardening walk" not in page.text


async def test_drafts_archived_and_unknown_ids_have_no_page_and_no_learner_data_shows(
    http: httpx.AsyncClient, platform: Platform, world: dict[str, str]
):
    for path in (
        f"activities/{world['draft']}",
        f"activities/{world['archived']}",
        f"activities/{uuid.uuid4()}",
        f"activities/{world['playlist']}",  # a playlist is not an activity
        f"playlists/{world['draft_playlist']}",
        f"organisations/{uuid.uuid4()}",
    ):
        page = await http.get(f"{_catalogue(platform)}/{path}", headers={"Accept": "text/html"})
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
        answer = await http.get(
            f"{_catalogue(platform)}/{path}", headers={"Accept": "application/json"}
        )
        assert answer.status_code == 404, path
    draft = await http.get(
        f"{_catalogue(platform)}/activities/{world['draft']}", headers={"Accept": "text/html"}
    )
    unknown = await http.get(
        f"{_catalogue(platform)}/activities/{uuid.uuid4()}", headers={"Accept": "text/html"}
    )
    assert draft.text.replace(world["draft"], "") == unknown.text.replace(
        unknown.url.path.rsplit("/", 1)[1], ""
    )
    # Nothing in the catalogue holds an email address: not the organisers', not a learner's.
    everything = await http.get(_catalogue(platform), headers={"Accept": "application/json"})
    assert "@" not in everything.text
    rows = await platform.query("activity", "SELECT * FROM catalogue_entries")
    assert rows and not any("@" in json.dumps(dict(row), default=str) for row in rows)


async def test_the_organiser_api_refuses_bad_new_fields_and_changes_nothing(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str], world: dict[str, str]
):
    one = f"{platform.url('activity')}/v1/activities/{world['compost']}"
    before = (await http.get(one, headers=bearer(organiser))).json()
    for body, status, problem in (
        ({"language": "english"}, 422, "BCP 47"),
        ({"signup_url": "javascript:alert(1)"}, 422, "https:// or http://"),
        ({"image": {"url": "http://example.org/a.png", "alt": "A"}}, 422, "https://"),
        ({"image": {"url": "https://example.org/a.png"}}, 422, "alt"),
        ({"online": None}, 422, "online cannot be null"),
        ({"place": LEEDS}, 400, "an online activity has no place"),
    ):
        answer = await http.patch(one, headers=bearer(organiser), json=body)
        assert answer.status_code == status, (body, answer.text)
        assert problem in answer.text, (body, answer.text)
    assert (await http.get(one, headers=bearer(organiser))).json() == before
    # Moving it to a place takes online false with it; null empties the new fields.
    moved = await sent(
        lambda: http.patch(
            one,
            headers=bearer(organiser),
            json={"online": False, "place": LEEDS, "language": None, "signup_url": None},
        )
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["online"], moved.json()["language"]) == (False, None)
    assert moved.json()["catalogue_url"] == f"/catalogue/activities/{world['compost']}"

    async def on_the_map() -> bool:
        return world["compost"] in await _mapped(http, platform, bbox=LEEDS_BOX)

    assert await wait_for(on_the_map)


async def test_the_catalogue_rebuilds_from_the_logs_to_the_same_state(
    platform: Platform, world: dict[str, str]
):
    await platform.caught_up("activity", "activity.events")
    await platform.caught_up("activity", "badge.events")
    platform.stop_all()
    live = platform.run("activity", "checksum")
    rebuilt = json.loads(platform.run("activity", "rebuild"))
    assert rebuilt["checksum"] == live
    rows = await platform.query("activity", "SELECT count(*) AS n FROM catalogue_entries")
    assert rows[0]["n"] == 6
