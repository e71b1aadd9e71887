"""The learner's home in a real Chromium: signing in by an emailed link on a fresh browser,
my badges from two organisations with their states (one revoked meanwhile), a second address
proved and shown, signing out; a shared badge page's preview tags, LinkedIn link and the
holder's chosen name; playlist progress from 1 of 2 to 2 of 2 with the playlist badge; an
invitation from the playlist page arriving and leading to the playlist's catalogue page, and
the organisers' invitations with their limits; and no way to see anyone else's badges.

Every page of the walk is checked by its checkpoint: axe-core (no serious or critical
violation) and no sideways scrolling at 375 px (tests/browser/walk.py), and the home's pages
once more by tests/browser/audit.py."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.browser.audit import assert_accessible
from tests.browser.controls import EMAIL_FIELD, SIGN_IN
from tests.browser.inbox import Inbox
from tests.browser.walk import Device, Walk
from tests.support import bearer, wait_for
from tests.support_flows import JSON, claim_by_email, playlist_badge, published_badge
from tests.support_mail import plain_body

# Small limits, so the test reaches them: invitations per sender and per invited address a day.
PLATFORM_ENV = {
    "EVIDENCE_INVITATIONS_PER_SENDER": "4",
    "EVIDENCE_INVITATIONS_PER_ADDRESS": "2",
    # A shared machine under load can take Kafka longer than the default bound.
    "KAFKA_WRITE_TIMEOUT_SECONDS": "30",
}


def learner_email(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:8]}@example.org"


async def ask_for_a_link(device: Device, address: str) -> None:
    """Fills in the sign-in form and sends it. On a loaded shared machine Kafka may not take
    the ask in time: the page then says to try again (503), and the learner does."""
    for _ in range(3):
        await device.page.get_by_label(EMAIL_FIELD).first.fill(address)
        await device.click(device.page.get_by_role("button", name=SIGN_IN).first)
        if device.last is None or device.last.status != 503:
            return
        await asyncio.sleep(5)
        await device.page.go_back()


async def sign_in_to_the_home(walk: Walk, device: Device, inbox: Inbox, platform) -> None:
    """From the home's sign-in page, by the emailed link, to the home."""
    evidence = platform.url("evidence")
    await device.open(f"{evidence}/home")
    await walk.checkpoint(device, "home-signed-out")
    await ask_for_a_link(device, inbox.address)
    await walk.checkpoint(device, "check-your-inbox")
    assert device.last is not None and device.last.status == 202, await device.summary()
    mailed = await inbox.next(f"{evidence}/sign-in/address/")
    await walk.email(mailed, "sign-in-email")
    await device.follow(mailed, f"{evidence}/sign-in/address/")
    await walk.checkpoint(device, "sign-in-link")
    # The link alone signs nobody in: the learner presses the button.
    assert "/home" not in device.page.url
    await device.click(device.page.get_by_role("button", name=SIGN_IN).first)
    await walk.checkpoint(device, "home")
    assert device.page.url == f"{evidence}/home", await device.summary()


async def states(device: Device) -> dict[str, str]:
    """Each badge on the home by name: its state."""
    found = {}
    for article in await device.page.locator("article.award").all():
        name = (await article.get_by_role("heading").first.inner_text()).strip()
        state = await article.locator("[data-state]").first.get_attribute("data-state")
        found[name] = state or ""
    return found


async def home_json(http: httpx.AsyncClient, platform, device: Device) -> Any:
    cookies = {c["name"]: c["value"] for c in await device.context.cookies()}
    answer = await http.get(f"{platform.url('evidence')}/home", headers=JSON, cookies=cookies)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_badges_from_two_organisations_on_a_fresh_browser_with_their_states(
    http, platform, organiser, other_organiser, infra, walk
):
    learner = learner_email("home")
    work = learner_email("work")
    someone_else = learner_email("else")
    riverside = await published_badge(http, platform, organiser, "Urban gardening")
    hillside = await published_badge(http, platform, other_organiser, "Robot building")
    hillside_too = await published_badge(http, platform, other_organiser, "Soldering")
    theirs = await published_badge(http, platform, organiser, "Somebody else's badge")
    gardening = await claim_by_email(http, platform, organiser, infra, riverside, learner)
    await claim_by_email(http, platform, other_organiser, infra, hillside, learner)
    await claim_by_email(http, platform, other_organiser, infra, hillside_too, work)
    await claim_by_email(http, platform, organiser, infra, theirs, someone_else)
    await platform.caught_up("evidence", "badge.events")

    laptop = await walk.new_device()
    inbox = Inbox(infra.mailbox_dir, learner)
    await sign_in_to_the_home(walk, laptop, inbox, platform)
    await assert_accessible(laptop.page)
    assert await states(laptop) == {"Robot building": "valid", "Urban gardening": "valid"}
    text = await laptop.page.locator("main").inner_text()
    assert "Riverside Youth Centre" in text and "Hillside School" in text
    assert gardening["assertion_url"] in text  # the Assertion URL is shown
    downloads = laptop.page.get_by_role("link", name=re.compile("Download (PNG|SVG)"))
    assert await downloads.count() == 4  # PNG and SVG of each
    png = await http.get(await downloads.first.get_attribute("href") or "")
    assert png.status_code == 200 and png.headers["content-type"] in ("image/png", "image/svg+xml")

    # The organiser revokes one; the home shows it revoked, the other still valid.
    revoked = await http.post(
        f"{platform.url('badge')}/v1/assertions/{gardening['assertion_id']}/revoke",
        headers=bearer(organiser),
        json={"reason": "Awarded by mistake"},
    )
    assert revoked.status_code == 200, revoked.text
    await platform.caught_up("evidence", "badge.events")
    await laptop.open(f"{platform.url('evidence')}/home")
    await walk.checkpoint(laptop, "home-after-a-revocation")
    assert await states(laptop) == {"Robot building": "valid", "Urban gardening": "revoked"}
    assert "Awarded by mistake" in await laptop.page.locator("main").inner_text()

    # A second address, proved on the same browser, adds its badges; nobody else's show.
    await laptop.click(laptop.page.get_by_role("link", name=re.compile("another address")))
    await ask_for_a_link(laptop, work)
    mailed = await Inbox(infra.mailbox_dir, work).next(f"{platform.url('evidence')}/sign-in/")
    await laptop.follow(mailed, f"{platform.url('evidence')}/sign-in/address/")
    await laptop.click(laptop.page.get_by_role("button", name=SIGN_IN).first)
    await walk.checkpoint(laptop, "home-with-two-addresses")
    assert await states(laptop) == {
        "Robot building": "valid",
        "Urban gardening": "revoked",
        "Soldering": "valid",
    }
    shown = await home_json(http, platform, laptop)
    assert sorted(shown["addresses"]) == sorted([learner, work])
    assert {a["recipient_email"] for a in shown["awards"]} == {learner, work}
    assert "Somebody else's badge" not in await laptop.page.locator("main").inner_text()

    # Signing out forgets both addresses.
    await laptop.click(laptop.page.get_by_role("button", name=re.compile("sign out", re.I)))
    await walk.checkpoint(laptop, "signed-out")
    await laptop.open(f"{platform.url('evidence')}/home")
    assert await laptop.page.get_by_label(EMAIL_FIELD).count(), await laptop.summary()
    assert await laptop.page.locator("article.award").count() == 0
    walk.assert_clean()


async def test_no_page_or_api_lists_another_persons_badges(http, platform, organiser, infra):
    evidence = platform.url("evidence")
    holder = learner_email("holder")
    badge = await published_badge(http, platform, organiser, "Private badge")
    held = await claim_by_email(http, platform, organiser, infra, badge, holder)
    await platform.caught_up("evidence", "badge.events")
    # Without a session: 401, nothing listed, whatever is asked.
    for path in ("/home", "/home/playlists", f"/home?email={holder}"):
        answer = await http.get(f"{evidence}{path}", headers=JSON)
        assert answer.status_code == 401, (path, answer.text)
        assert holder not in answer.text
    # Signed in as someone else: their badge is not among mine, and choosing its name is
    # refused exactly as for a badge that does not exist.
    stranger = learner_email("stranger")
    for _ in range(3):  # Kafka on a loaded shared machine may answer late: 503, try again
        asked = await http.post(f"{evidence}/home/sign-in", data={"email": stranger}, headers=JSON)
        if asked.status_code != 503:
            break
        await asyncio.sleep(5)
    assert asked.status_code == 202, asked.text
    mailed = await Inbox(infra.mailbox_dir, stranger).next(f"{evidence}/sign-in/address/")
    link = re.search(rf"{re.escape(evidence)}/sign-in/address/\S+", plain_body(mailed))
    assert link
    signed = await http.post(link.group(0), headers=JSON)
    assert signed.status_code == 200, signed.text
    cookies = dict(signed.cookies)
    mine = await http.get(f"{evidence}/home", headers=JSON, cookies=cookies)
    assert mine.json()["addresses"] == [stranger] and mine.json()["awards"] == []
    theirs = await http.post(
        f"{evidence}/home/badges/{held['assertion_id']}/name",
        data={"show_name": "yes", "name": "Not them"},
        headers=JSON,
        cookies=cookies,
    )
    missing = await http.post(
        f"{evidence}/home/badges/{uuid.uuid4()}/name",
        data={"show_name": "yes", "name": "Not them"},
        headers=JSON,
        cookies=cookies,
    )
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    # A forged or someone else's link signs nobody in.
    forged = await http.post(
        link.group(0).replace(stranger.replace("@", "%40"), holder.replace("@", "%40")),
        headers=JSON,
    )
    assert forged.status_code == 404 and "set-cookie" not in forged.headers


async def test_a_shared_badge_page_previews_adds_to_linkedin_and_shows_the_chosen_name(
    http, platform, organiser, infra, walk
):
    learner = learner_email("share")
    badge = await published_badge(http, platform, organiser, "Bike repair")
    held = await claim_by_email(http, platform, organiser, infra, badge, learner)
    await platform.caught_up("evidence", "badge.events")
    laptop = await walk.new_device()
    await sign_in_to_the_home(walk, laptop, Inbox(infra.mailbox_dir, learner), platform)
    await laptop.click(laptop.page.get_by_role("link", name=re.compile("sharing", re.I)))
    await walk.checkpoint(laptop, "badge-page")
    page_url = f"{platform.url('badge')}/badges/{held['assertion_id']}"
    assert laptop.page.url == page_url

    async def meta(attribute: str, name: str) -> str:
        found = laptop.page.locator(f'meta[{attribute}="{name}"]')
        assert await found.count() == 1, name
        return await found.get_attribute("content") or ""

    image = f"{platform.url('badge')}/ob/badge-classes/{badge['id']}/image"
    assert await meta("property", "og:url") == page_url
    assert await meta("property", "og:image") == image
    assert await meta("name", "twitter:image") == image
    assert await meta("name", "twitter:card") == "summary"
    title = await meta("property", "og:title")
    assert title.startswith("Bike repair") and "Riverside Youth Centre" in title
    assert learner not in title  # the masked address by default, never the address
    assert await meta("property", "og:description") == "About Bike repair"
    assert await meta("name", "twitter:title") == title
    assert (await http.get(image)).status_code == 200

    linkedin = laptop.page.get_by_role("link", name=re.compile("LinkedIn"))
    parts = urlsplit(await linkedin.get_attribute("href") or "")
    assert (parts.netloc, parts.path) == ("www.linkedin.com", "/profile/add")
    fields = parse_qs(parts.query)
    assert fields["startTask"] == ["CERTIFICATION_NAME"]
    assert fields["name"] == ["Bike repair"]
    assert fields["organizationName"] == ["Riverside Youth Centre"]
    assert fields["certUrl"] == [page_url]
    assert fields["certId"] == [held["assertion_id"]]
    today = datetime.now(UTC)  # awarded a moment ago
    assert (fields["issueYear"], fields["issueMonth"]) == ([str(today.year)], [str(today.month)])
    assert await laptop.page.get_by_label(re.compile("Link to this page")).input_value() == page_url
    embed = await laptop.page.get_by_label(re.compile("Embed")).input_value()
    assert f'href="{page_url}"' in embed and f'src="{image}"' in embed
    masked = await laptop.page.locator("main").inner_text()
    assert learner not in masked and f"{learner[0]}••" in masked

    # The learner chooses to show their name on this badge's page.
    await laptop.open(f"{platform.url('evidence')}/home")
    article = laptop.page.locator(f"#badge-{held['assertion_id']}")
    await article.get_by_label(re.compile("my name")).check()
    await article.get_by_label("Name to show").fill("Ana Lima")
    await laptop.click(article.get_by_role("button", name="Save"))
    await walk.checkpoint(laptop, "name-chosen")

    async def named() -> bool:
        shown = await http.get(page_url)
        return "Ana Lima" in shown.text

    assert await wait_for(named, timeout=30)
    await laptop.open(page_url)
    assert "Ana Lima" in await meta("property", "og:title")
    await walk.checkpoint(laptop, "badge-page-with-the-name")
    walk.assert_clean()


async def test_playlist_progress_and_invitations(http, platform, organiser, infra, walk):
    evidence = platform.url("evidence")
    learner = learner_email("playlist")
    title = f"Green city {uuid.uuid4().hex[:4]}"
    activities, prize = await playlist_badge(http, platform, organiser, title)
    playlist_id = prize["source_id"]
    await claim_by_email(http, platform, organiser, infra, activities[0], learner)
    await platform.caught_up("evidence", "badge.events")

    laptop = await walk.new_device()
    await sign_in_to_the_home(walk, laptop, Inbox(infra.mailbox_dir, learner), platform)
    await laptop.click(laptop.page.get_by_role("link", name="My playlists"))
    await walk.checkpoint(laptop, "my-playlists")
    await assert_accessible(laptop.page)
    await laptop.click(laptop.page.get_by_role("link", name=title))
    await walk.checkpoint(laptop, "playlist-1-of-2")
    await assert_accessible(laptop.page)
    assert await laptop.page.locator("[data-progress]").inner_text() == "1 of 2"
    steps = laptop.page.locator("ol.steps li")
    assert "earned" in await steps.nth(0).inner_text()
    assert "next" in await steps.nth(1).inner_text()
    assert await laptop.page.get_by_role("heading", name="Playlist badge earned").count() == 0

    await claim_by_email(http, platform, organiser, infra, activities[1], learner)

    async def two_of_two() -> bool:
        await laptop.page.reload()
        return await laptop.page.locator("[data-progress]").inner_text() == "2 of 2"

    assert await wait_for(two_of_two, timeout=60, interval=0.5)
    heading = laptop.page.get_by_role("heading", name="Playlist badge earned")

    async def prize_shown() -> bool:
        # The playlist's badge follows the last activity's badge by a moment.
        if not await heading.count():
            await laptop.page.reload()
        return bool(await heading.count())

    assert await wait_for(prize_shown, timeout=60, interval=0.5)
    assert prize["name"] in await laptop.page.locator("main").inner_text()
    await walk.checkpoint(laptop, "playlist-2-of-2")

    # The learner invites a friend; the email leads to the playlist's catalogue page.
    friend = learner_email("friend")
    await laptop.page.get_by_label(re.compile("Email addresses")).fill(friend)
    await laptop.page.get_by_label(re.compile("note", re.I)).fill("Come with me")
    await laptop.click(laptop.page.get_by_role("button", name=re.compile("invitation")))
    await walk.checkpoint(laptop, "invitation-sent")
    assert friend in await laptop.page.get_by_role("status").last.inner_text()
    catalogue = f"{platform.url('activity')}/catalogue/playlists/{playlist_id}"
    invitation = await Inbox(infra.mailbox_dir, friend).next(catalogue)
    await walk.email(invitation, "invitation-email")
    assert title in str(invitation["Subject"]) and "Come with me" in plain_body(invitation)
    phone = await walk.new_device()
    await phone.follow(invitation, catalogue)
    assert phone.page.url == catalogue

    # The organisers invite through their API, within limits per address and per sender.
    url = f"{evidence}/v1/playlists/{playlist_id}/invitations"
    # Bad input: a clear refusal, nothing sent and nothing counted.
    bad = await http.post(url, headers=bearer(organiser), json={"emails": ["not-an-address"]})
    assert bad.status_code == 422 and "not-an-address" in bad.text
    unknown = await http.post(
        f"{evidence}/v1/playlists/{uuid.uuid4()}/invitations",
        headers=bearer(organiser),
        json={"emails": [learner_email("q")]},
    )
    assert unknown.status_code == 404, unknown.text
    again = await http.post(url, headers=bearer(organiser), json={"emails": [friend]})
    assert again.status_code == 201, again.text
    third = await http.post(url, headers=bearer(organiser), json={"emails": [friend]})
    assert third.status_code == 429, third.text
    assert third.headers["content-type"] == "application/json"  # an API answers JSON
    said = third.json()["error"]
    assert f"{friend} has been invited as often as we allow" in said, said
    assert "nothing was sent" in said and 0 < int(third.headers["retry-after"]) <= 86_400
    for n in range(3):  # the sender's 2nd to 4th of 4 a day
        sent = await http.post(
            url, headers=bearer(organiser), json={"emails": [learner_email(f"p{n}")]}
        )
        assert sent.status_code == 201, sent.text
    over = await http.post(url, headers=bearer(organiser), json={"emails": [learner_email("p")]})
    assert over.status_code == 429, over.text
    assert "as many invitations as you may in a day (4)" in over.json()["error"]
    # A learner over the limit for one address gets a page that says so.
    page = await laptop.page.goto(f"{evidence}/home/playlists/{playlist_id}")
    assert page is not None and page.status == 200
    await laptop.page.get_by_label(re.compile("Email addresses")).fill(friend)
    await laptop.click(laptop.page.get_by_role("button", name=re.compile("invitation")))
    assert laptop.last is not None and laptop.last.status == 429
    assert "invited as often as we allow" in await laptop.page.locator("main").inner_text()
    await walk.checkpoint(laptop, "invitation-over-the-limit")
    walk.assert_clean()
