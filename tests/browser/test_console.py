"""The organiser console in a real Chromium, as an organiser who never saw the API: sign in by
the emailed link; create and publish an activity; build a playlist and reorder it; search the
dashboard; create and revoke an API key; end another browser's session; sign out. Every page
on the way is screenshotted and checked (axe-core, the 375 px layout)."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import expect

from tests.browser.audit import assert_accessible
from tests.browser.console_support import console_url, sign_in_organiser
from tests.browser.walk import Device, Walk
from tests.support import Platform, wait_for

# Three sign-ins of one address in this module, and a few more on a rerun.
PLATFORM_ENV = {"RATE_LIMIT_PER_ADDRESS": "20"}
EMAIL = "ana@riverside.example.org"


async def _flash(device: Device, text: str) -> None:
    await expect(device.page.get_by_role("status").filter(has_text=text)).to_be_visible()


async def _new_activity(walk: Walk, device: Device, platform: Platform, title: str) -> str:
    page = device.page
    await device.open(console_url(platform, "/activities"))
    await device.click(page.get_by_role("link", name="New activity"))
    await page.get_by_label("Title").fill(title)
    await page.get_by_label("Description").fill(f"Learners who took part in {title}.")
    await page.get_by_label("Criteria").fill(f"Take part in {title}.")
    await device.click(page.get_by_role("button", name="Save as draft"))
    await _flash(device, "saved as a draft")
    return page.url.rsplit("/", 1)[1]


async def test_an_organiser_runs_the_console_from_sign_in_to_sign_out(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str], walk: Walk
) -> None:
    device = await sign_in_organiser(walk, platform, EMAIL)
    page = device.page
    await expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    await walk.checkpoint(device, "dashboard-empty")
    await assert_accessible(page)

    # An activity: a mistake is told beside its field and saves nothing, then a draft.
    await device.open(console_url(platform, "/activities/new"))
    await walk.checkpoint(device, "activity-new")
    await page.get_by_label("Title").fill("Urban gardening")
    await page.locator("#starts_at").fill("2027-05-01T16:00")
    await page.locator("#ends_at").fill("2027-05-01T10:00")
    await page.get_by_label("Place name").fill("Riverside community garden")
    await device.click(page.get_by_role("button", name="Save as draft"))
    assert device.last is not None and device.last.status in (400, 422)
    await expect(page.get_by_role("alert")).to_contain_text("before")
    await walk.checkpoint(device, "activity-refused")
    assert await page.get_by_label("Title").input_value() == "Urban gardening"
    await page.locator("#ends_at").fill("2027-05-01T18:00")
    await page.get_by_label("Description").fill("Grow food in the city.")
    await device.click(page.get_by_role("button", name="Save as draft"))
    await _flash(device, "saved as a draft")
    await expect(page.get_by_text("from the activity as it is at this moment")).to_be_visible()
    await walk.checkpoint(device, "activity-draft")

    await device.click(page.get_by_role("button", name="Publish and create the badge"))
    await _flash(device, "its badge is made from it as it is now")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("published")
    await walk.checkpoint(device, "activity-published")

    composting = await _new_activity(walk, device, platform, "Composting")

    # A playlist of both, reordered with plain forms; publishing waits for every activity.
    await device.open(console_url(platform, "/playlists/new"))
    await page.get_by_label("Title").fill("Green fingers")
    await device.click(page.get_by_role("button", name="Save as draft"))
    await _flash(device, "Add activities")
    for title in ("Urban gardening", "Composting"):
        await page.get_by_label("Add an activity").select_option(
            label=f"{title} ({'published' if title == 'Urban gardening' else 'draft'})"
        )
        await device.click(page.get_by_role("button", name="Add to the playlist"))
        await _flash(device, "added at the end")
    order = page.locator("ol.ordered > li > a")
    await expect(order).to_have_text(["Urban gardening", "Composting"])
    await device.click(page.get_by_role("button", name="Move Composting up"))
    await _flash(device, "Moved up")
    await expect(order).to_have_text(["Composting", "Urban gardening"])
    await walk.checkpoint(device, "playlist-reordered")
    await device.click(page.get_by_role("button", name="Publish the playlist"))
    assert device.last is not None and device.last.status == 409
    await expect(page.get_by_role("alert")).to_contain_text("Not published: Composting")
    await walk.checkpoint(device, "playlist-not-publishable")
    await device.click(page.get_by_role("button", name="Move Composting down"))
    await expect(order).to_have_text(["Urban gardening", "Composting"])
    await device.click(page.get_by_role("button", name="Remove Composting"))
    await expect(order).to_have_text(["Urban gardening"])
    await device.click(page.get_by_role("button", name="Publish the playlist"))
    await _flash(device, "The playlist is published")
    await walk.checkpoint(device, "playlist-published")

    # The dashboard: both kinds with their badges, searched and filtered on the server.
    await device.open(console_url(platform, "/"))
    cards = page.locator("ul.cards > li")
    await expect(cards).to_have_count(3)
    await walk.checkpoint(device, "dashboard")

    # The badge is made a moment after publishing: the page shows it once it is there.
    async def with_its_badge() -> bool:
        await device.open(console_url(platform, "/?q=garden&status=published&kind=activity"))
        return await cards.count() == 1 and "0 offered" in await cards.first.inner_text()

    await wait_for(with_its_badge, timeout=30, interval=0.5)
    await expect(cards.first).to_contain_text("Urban gardening")
    await expect(cards.first).to_contain_text("0 claimed")
    await device.open(console_url(platform, "/activities?status=draft"))
    await expect(page.locator("ul.cards > li")).to_have_text([re.compile("Composting")])
    assert composting in await page.content()
    await walk.checkpoint(device, "activities-drafts")

    # An API key: shown once, works on the API, revoked.
    await device.open(console_url(platform, "/keys"))
    await walk.checkpoint(device, "keys-empty")
    await device.click(page.get_by_role("button", name="Create an API key"))
    key = (await page.locator("#new-key").inner_text()).strip()
    assert key.startswith("obk_")
    await walk.checkpoint(device, "key-created")
    me = await http.get(
        f"{platform.url('activity')}/v1/me", headers={"authorization": f"Bearer {key}"}
    )
    assert me.status_code == 200, me.text
    await device.open(console_url(platform, "/keys"))
    assert key not in await page.content()
    prefix = key[: len("obk_") + 12]
    await device.click(page.get_by_role("button", name=f"Revoke {prefix}"))
    await _flash(device, "is revoked")
    await walk.checkpoint(device, "key-revoked")

    async def refused() -> bool:
        answer = await http.get(
            f"{platform.url('activity')}/v1/me", headers={"authorization": f"Bearer {key}"}
        )
        return answer.status_code == 401

    await wait_for(refused, timeout=10)

    # Another browser signs in; this one ends that session, and that browser is signed out.
    other = await sign_in_organiser(walk, platform, EMAIL, name="second-browser")
    await device.open(console_url(platform, "/sessions"))
    sessions = page.locator("ul.cards > li")
    await expect(sessions).to_have_count(2)
    await walk.checkpoint(device, "sessions")
    await device.click(
        sessions.filter(has_not_text="this browser").get_by_role("button", name=re.compile("End"))
    )
    await _flash(device, "The session is ended")
    await expect(sessions).to_have_count(1)
    await other.open(console_url(platform, "/activities"))
    assert other.page.url.startswith(console_url(platform, "/sign-in?next=")), other.page.url

    # Colleagues: the admin invites one, who is emailed the way to the console's sign-in.
    await device.open(console_url(platform, "/colleagues"))
    await page.get_by_label("Name").fill("Ben")
    await page.get_by_label("Email address").fill("ben@riverside.example.org")
    await device.click(page.get_by_role("button", name="Invite"))
    await _flash(device, "is an organiser now")
    await expect(page.get_by_role("cell", name="ben@riverside.example.org")).to_be_visible()
    await walk.checkpoint(device, "colleague-invited")

    # Signing out ends this session too: the console asks to sign in again.
    await device.click(page.get_by_role("button", name="Sign out"))
    await _flash(device, "You are signed out")
    await walk.checkpoint(device, "signed-out")
    await device.open(console_url(platform, "/"))
    assert page.url.startswith(console_url(platform, "/sign-in?next=")), page.url
    walk.assert_clean()


async def test_an_organiser_archives_a_playlist_and_it_leaves_the_catalogue(
    http: httpx.AsyncClient, platform: Platform, organiser: dict[str, str], walk: Walk
) -> None:
    """A published playlist archived from its page: the page says so and offers nothing more
    to change, the dashboard's and the playlists' Archived filters show it, and the public
    catalogue no longer has it."""
    api = platform.url("activity")
    auth = {"authorization": f"Bearer {organiser['api_key']}"}
    activity = await http.post(
        f"{api}/v1/activities", headers=auth, json={"title": "Hedge laying", "description": "Lay"}
    )
    assert activity.status_code == 201, activity.text
    activity_id = activity.json()["id"]
    published = await http.post(f"{api}/v1/activities/{activity_id}/publish", headers=auth)
    assert published.status_code == 200, published.text
    made = await http.post(
        f"{api}/v1/playlists",
        headers=auth,
        json={
            "title": "Country crafts",
            "description": "Old skills",
            "activity_ids": [activity_id],
        },
    )
    assert made.status_code == 201, made.text
    playlist_id = made.json()["id"]
    listed = await http.post(f"{api}/v1/playlists/{playlist_id}/publish", headers=auth)
    assert listed.status_code == 200, listed.text
    public = f"{api}/catalogue/playlists/{playlist_id}"
    json_only = {"accept": "application/json"}
    assert (await http.get(public, headers=json_only)).status_code == 200

    device = await sign_in_organiser(walk, platform, EMAIL, next_path=f"/playlists/{playlist_id}")
    page = device.page
    await expect(page.get_by_role("heading", level=1)).to_contain_text("published")
    await walk.checkpoint(device, "playlist-to-archive")
    await device.click(page.get_by_role("button", name="Archive this playlist"))
    await _flash(device, "The playlist is archived")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("archived")
    await expect(page.locator("#archived")).to_contain_text("no longer in the public catalogue")
    assert not await page.get_by_role("button", name="Archive this playlist").count()
    assert not await page.get_by_role("button", name="Publish the playlist").count()
    # Nor any issuing: its badge's tab is the offers and awards, as on the dashboard's card.
    assert not await page.get_by_role("link", name="Issue badge").count()
    await expect(page.get_by_role("link", name="Offers and awards")).to_have_count(1)
    await walk.checkpoint(device, "playlist-archived")
    await assert_accessible(page)

    cards = page.locator("ul.cards > li")
    await device.open(console_url(platform, "/?status=archived&kind=playlist"))
    await expect(cards).to_have_text([re.compile("Country crafts")])
    assert not await cards.get_by_role("link", name="Issue badge").count()
    await walk.checkpoint(device, "dashboard-archived")
    await device.open(console_url(platform, "/?status=published&kind=playlist"))
    assert "Country crafts" not in await page.inner_text("main")
    await device.open(console_url(platform, "/playlists?status=archived"))
    await expect(cards).to_have_text([re.compile("Country crafts")])
    await expect(page.get_by_label("Status")).to_have_value("archived")

    # The public catalogue: no page, and no search finds it.
    assert (await http.get(public, headers=json_only)).status_code == 404
    found = await http.get(f"{api}/catalogue", params={"kind": "playlist"}, headers=json_only)
    assert found.status_code == 200 and playlist_id not in found.text
    # Archived, it changes no more: the API says why and nothing is changed.
    again = await http.post(f"{api}/v1/playlists/{playlist_id}/archive", headers=auth)
    assert again.status_code == 409 and "archived" in again.text
    kept = await http.get(f"{api}/v1/playlists/{playlist_id}", headers=auth)
    assert kept.json()["status"] == "archived" and kept.json()["activity_ids"] == [activity_id]
    walk.assert_clean()
