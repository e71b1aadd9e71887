"""A learner finds activities in the public catalogue in a real browser: a search with a typo
in a word of the description, the activity's page, its playlist and organiser, and the map,
whose tiles cannot be reached here (it still lists the same activities), with and without
JavaScript."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from tests.browser.audit import assert_accessible
from tests.browser.walk import Walk
from tests.support import Platform, badge_of, bearer
from tests.support_catalogue import sent


def _port_nothing_listens_on() -> int:
    """A port bound here and never listened on: a connection to it is refused, and no server
    started later in the run can take it (a port only found free could be handed out again)."""
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.bind(("127.0.0.1", 0))
    _HELD.append(held)
    port: int = held.getsockname()[1]
    return port


_HELD: list[socket.socket] = []
# Every tile fails, as when the tile server is down or blocked.
TILES = f"http://127.0.0.1:{_port_nothing_listens_on()}/{{z}}/{{x}}/{{y}}.png"
PLATFORM_ENV = {"ACTIVITY_MAP_TILE_URL": TILES}
LEEDS = {"name": "Riverside community garden", "address": "12 Mill Lane, Leeds",
         "latitude": 53.7997, "longitude": -1.5492}  # fmt: skip


async def _publish(http: httpx.AsyncClient, platform: Platform, who: dict[str, str],
                   publish: bool = True, **body: Any) -> str:  # fmt: skip
    activities = f"{platform.url('activity')}/v1/activities"
    created = await sent(lambda: http.post(activities, headers=bearer(who), json=body))
    assert created.status_code == 201, created.text
    activity_id: str = created.json()["id"]
    if publish:
        answer = await sent(
            lambda: http.post(f"{activities}/{activity_id}/publish", headers=bearer(who))
        )
        assert answer.status_code == 200, answer.text
    return activity_id


@pytest.fixture(scope="module")
async def listed(platform: Platform, organiser: dict[str, str]) -> dict[str, str]:
    async with httpx.AsyncClient(timeout=30) as http:
        ids = {
            "garden": await _publish(
                http, platform, organiser,
                title="Urban gardening",
                description="Grow vegetables and herbs on a city rooftop, with compost from "
                "the kitchen next door.",
                criteria="Plant three seeds.",
                starts_at="2027-05-01T09:00:00Z", ends_at="2027-05-01T15:00:00Z",
                place=LEEDS, language="en",
                signup_url="https://riverside.example.org/book/gardening",
            ),
            "online": await _publish(
                http, platform, organiser,
                title="Seed swap online", description="Swap seeds by post.", online=True,
            ),
            "draft": await _publish(
                http, platform, organiser, publish=False,
                title="Vegetables draft", description="Vegetables nobody may see yet.",
                place=LEEDS,
            ),
        }  # fmt: skip
        playlist = await sent(
            lambda: http.post(
                f"{platform.url('activity')}/v1/playlists",
                headers=bearer(organiser),
                json={"title": "Green skills", "activity_ids": [ids["garden"], ids["online"]]},
            )
        )
        ids["playlist"] = playlist.json()["id"]
        published = await sent(
            lambda: http.post(
                f"{platform.url('activity')}/v1/playlists/{ids['playlist']}/publish",
                headers=bearer(organiser),
            )
        )
        assert published.status_code == 200, published.text
        for source in (ids["garden"], ids["online"], ids["playlist"]):
            await badge_of(http, platform, organiser, source)
        await platform.caught_up("activity", "badge.events")
        return ids


async def test_a_search_with_a_typo_finds_the_activity_and_its_pages(
    platform: Platform, organiser: dict[str, str], listed: dict[str, str], walk: Walk
):
    phone = await walk.new_device()
    page = phone.page
    await phone.open(f"{platform.url('activity')}/catalogue")
    await walk.checkpoint(phone, "catalogue")
    await page.get_by_label("Search for").fill("vegetabels")  # a word of the description
    await phone.click(page.get_by_role("button", name="Search"))
    await walk.checkpoint(phone, "search-with-a-typo")
    results = page.locator("ol.results > li")
    titles = await results.locator(".card-title").all_inner_texts()
    assert titles == ["Urban gardening"], await phone.summary()
    await assert_accessible(page)

    await phone.click(page.get_by_role("link", name="Urban gardening"))
    await walk.checkpoint(phone, "activity-page")
    assert await phone.heading() == "Urban gardening"
    main = await page.locator("main").inner_text()
    for text in ("What you learn", "The badge you earn", "How to earn it", "By email",
                 "Riverside community garden", "English"):  # fmt: skip
        assert text in main, text
    assert await page.get_by_role("link", name="Sign up for Urban gardening").count() == 1

    await phone.click(page.get_by_role("link", name="Green skills"))
    await walk.checkpoint(phone, "playlist-page")
    steps = await page.locator("ol.steps > li > a").all_inner_texts()
    assert steps == ["Urban gardening", "Seed swap online"]
    await phone.click(page.get_by_role("link", name="Riverside Youth Centre").first)
    await walk.checkpoint(phone, "organisation-page")
    organisation = await page.locator("main").inner_text()
    assert "Urban gardening" in organisation and "Vegetables draft" not in organisation
    walk.assert_clean()


async def test_the_map_lists_the_activities_when_its_tiles_cannot_be_reached(
    platform: Platform, listed: dict[str, str], walk: Walk
):
    laptop = await walk.new_device()
    page = laptop.page
    await laptop.open(f"{platform.url('activity')}/catalogue/map")
    # Leaflet runs (the map shows), the tiles fail, and the page says so over the same list.
    await page.locator("#map.leaflet-container").wait_for(state="visible")
    await page.locator("#map-note").wait_for(state="visible")
    assert "could not be loaded" in await page.locator("#map-note").inner_text()
    await page.locator("#map path.leaflet-interactive").first.wait_for(state="attached")
    assert await page.locator("#map path.leaflet-interactive").count() == 1  # one in person
    listed_titles = await page.locator("#map-list .card-title").all_inner_texts()
    assert listed_titles == ["Urban gardening"]
    await walk.checkpoint(laptop, "map-tiles-unreachable")
    await assert_accessible(page)

    # Without JavaScript: no map, the same list.
    context = await walk.browser.new_context(java_script_enabled=False)
    try:
        still = await context.new_page()
        await still.goto(f"{platform.url('activity')}/catalogue/map")
        assert await still.locator("#map").is_hidden()
        assert await still.locator("#map-list .card-title").all_inner_texts() == ["Urban gardening"]
    finally:
        await context.close()
    walk.assert_clean()
