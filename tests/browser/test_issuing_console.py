"""An organiser issues a badge from the console in a real Chromium, as the seed describes it:
open the activity's Badges tab, edit the badge, Issue badge; issue to two emails and to a CSV
with a bad row (its row number and why), download the QR code and decode it to the link shown
below it, copy the link with one click, regenerate it; a learner claims from the mailbox, the
award appears, and the organiser revokes it with a reason. A playlist's badge has the same
pages, without a link. Every page is checked by the walk (axe-core, 375 px)."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Page

from tests.browser.audit import assert_accessible
from tests.browser.console_support import sign_in_organiser
from tests.browser.controls import ACCEPT
from tests.browser.inbox import Inbox
from tests.browser.organiser import Organiser
from tests.browser.walk import DESKTOP, PHONE, Device, Walk
from tests.support import bearer, wait_for
from tests.support_flows import playlist_badge

PNG = b"\x89PNG\r\n\x1a\n"
ORGANISER_EMAIL = "ana@riverside.example.org"  # the `organiser` fixture's


def zbar_decode(image: Path) -> str:
    """The text of the one QR code in the image, as zbarimg (Debian's zbar-tools) reads it."""
    zbarimg = shutil.which("zbarimg")
    assert zbarimg, "no zbarimg: `bash deploy/local/install.sh` installs Debian's zbar-tools"
    found = subprocess.run(
        [zbarimg, "--quiet", "--raw", str(image)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert found.returncode == 0, f"zbarimg found no QR code in {image}: {found.stderr}"
    return found.stdout.strip()


async def _text(page: Page, selector: str) -> str:
    return " ".join((await page.locator(selector).first.inner_text()).split())


async def _submit(device: Device, button: str) -> None:
    response = await device.click(device.page.get_by_role("button", name=button).first)
    assert response is not None, await device.summary()


async def test_an_organiser_issues_and_revokes_a_badge_from_the_console(
    http, platform, organiser, infra, walk: Walk, tmp_path: Path
):
    ana = Organiser(http, platform, organiser)
    badge = await ana.badge("Urban gardening")
    activity = badge["source_id"]
    console = platform.url("console")
    laptop = await sign_in_organiser(walk, platform, ORGANISER_EMAIL)
    page = laptop.page

    # The Badges tab: the badge as learners will see it, and its form.
    await laptop.open(f"{console}/activities/{activity}/badge")
    await walk.checkpoint(laptop, "badge-tab")
    assert "Urban gardening" in await laptop.heading(), await laptop.summary()
    preview = page.locator(".badge-card")
    assert "Learners who took part in Urban gardening." in await preview.inner_text()
    assert "Riverside Youth Centre" in await preview.inner_text()

    # Bad input: the message beside the field, and nothing changed.
    await page.get_by_label("Name", exact=True).fill("")
    await page.get_by_label("Valid for (days)").fill("forever")
    await _submit(laptop, "Save the badge")
    assert laptop.last is not None and laptop.last.status == 422, await laptop.summary()
    await walk.checkpoint(laptop, "badge-form-refused")
    assert "Enter the badge's name." in await _text(page, "#name-error")
    assert "whole number" in await _text(page, "#expires_after_days-error")
    kept = await http.get(
        f"{platform.url('badge')}/v1/badges/{badge['id']}", headers=bearer(organiser)
    )
    assert kept.json()["name"] == "Urban gardening" and kept.json()["expires_after_days"] is None

    await page.get_by_label("Name", exact=True).fill("Urban gardening")
    await page.get_by_label("Valid for (days)").fill("365")
    description = "Grew food in the city for a whole season."
    await page.get_by_label("Description").fill(description)
    await _submit(laptop, "Save the badge")
    await walk.checkpoint(laptop, "badge-saved")
    assert description in await preview.inner_text(), await laptop.summary()
    edited = await http.get(
        f"{platform.url('badge')}/v1/badges/{badge['id']}", headers=bearer(organiser)
    )
    assert edited.json()["description"] == description
    assert edited.json()["expires_after_days"] == 365

    # Issue badge: every option on one page.
    await laptop.click(page.get_by_role("link", name="Issue badge").first)
    await walk.checkpoint(laptop, "issue-page")
    assert page.url.endswith(f"/activities/{activity}/badge/issue"), page.url

    learners = [f"grower{n}.{uuid.uuid4().hex[:6]}@example.org" for n in (1, 2)]
    await page.get_by_label("Or paste a list of addresses").fill("\n".join(learners))
    await _submit(laptop, "Issue to the list")
    assert laptop.last is not None and laptop.last.status == 201, await laptop.summary()
    assert "2 addresses were accepted" in await _text(page, "#result")
    # The progress updates itself (htmx) until both emails are sent, without a reload.
    sent = page.locator("#result [data-count=sent]")
    await sent.filter(has_text=re.compile(r"^2$")).wait_for(timeout=60_000)
    assert await _text(page, "#result [data-count=failed]") == "0"
    await walk.checkpoint(laptop, "issued-to-two")

    csv = tmp_path / "growers.csv"
    third = f"grower3.{uuid.uuid4().hex[:6]}@example.org"
    csv.write_text(f"name,email\nCleo,{third}\nDan,not an email\nEve,{learners[0]}\n")
    await page.get_by_label("Or upload a CSV file").set_input_files(csv)
    await _submit(laptop, "Upload and issue")
    await walk.checkpoint(laptop, "issued-csv")
    rejected = page.locator("table.rejected tbody tr")
    assert await rejected.count() == 1, await laptop.summary()
    row = " ".join((await rejected.first.inner_text()).split())
    assert row.startswith("3 not an email"), row
    assert "2 addresses were accepted" in await _text(page, "#result")
    await (
        page.locator("#result [data-count=sent]")
        .filter(has_text=re.compile(r"^2$"))
        .wait_for(timeout=60_000)
    )

    # The QR code decodes to the link shown below it.
    link = await _text(page, "#open-link")
    assert link.startswith(f"{platform.url('badge')}/claim/"), link
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download QR code (PNG)").click()
    download = await downloading.value
    png = tmp_path / "qr.png"
    await download.save_as(png)
    assert png.read_bytes().startswith(PNG)
    assert zbar_decode(png) == link
    svg = await page.request.get(f"{console}/activities/{activity}/badge/qr.svg")
    assert svg.status == 200 and b"<svg" in (await svg.body())[:500]

    # One click copies the link to the clipboard.
    await laptop.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=console)
    await page.get_by_role("button", name="Copy the link").click()
    await page.get_by_text("Link copied").wait_for()
    assert await page.evaluate("navigator.clipboard.readText()") == link

    # A learner claims from the mailbox; the award appears.
    inbox = Inbox(infra.mailbox_dir, learners[0])
    claim = f"{platform.url('badge')}/claim/"
    offer = await inbox.next(claim)
    phone = await walk.new_device()
    await phone.follow(offer, claim)
    await phone.click(phone.page.get_by_role("button", name=ACCEPT).first)
    assert "/badges/" in phone.page.url, await phone.summary()

    await laptop.open(f"{console}/activities/{activity}/badge/issue")
    awards = page.locator("#awards")
    assert learners[0] in await awards.inner_text(), await laptop.summary()
    await walk.checkpoint(laptop, "award-listed")

    # Revoking needs a reason: without one the form says so and nothing is revoked.
    await _submit(laptop, f"Revoke the badge of {learners[0]}")
    assert laptop.last is not None and laptop.last.status == 422, await laptop.summary()
    assert "Say why" in await _text(page, "#awards .field-error")
    await walk.checkpoint(laptop, "revoke-refused")
    await page.get_by_label("Reason for revoking").first.fill("Issued to the wrong person")
    await _submit(laptop, f"Revoke the badge of {learners[0]}")
    await walk.checkpoint(laptop, "revoked")
    assert "revoked Issued to the wrong person" in await _text(page, "#awards")
    listed = await http.get(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/assertions", headers=bearer(organiser)
    )
    [award] = listed.json()
    assert award["revoked"] and award["revocation_reason"] == "Issued to the wrong person"

    # Regenerating asks first, then the old link stops working.
    await laptop.click(page.get_by_role("link", name=re.compile("Regenerate the link")).first)
    await walk.checkpoint(laptop, "regenerate-confirm")
    assert "stop working" in await _text(page, "main")
    await _submit(laptop, "Regenerate the link")
    assert laptop.last is not None and laptop.last.status == 422, await laptop.summary()
    await page.get_by_label(re.compile("I understand")).check()
    await _submit(laptop, "Regenerate the link")
    await walk.checkpoint(laptop, "regenerated")
    new_link = await _text(page, "#open-link")
    assert new_link != link and new_link.startswith(claim)
    old = await http.get(link, headers={"accept": "application/json"})
    assert old.status_code in (404, 410), old.text

    # Offers list every address with its email's state.
    offers = await _text(page, "#offers")
    for email in (*learners, third):
        assert email in offers
    assert "sent" in offers
    walk.assert_clean()


async def test_the_pages_work_without_javascript(http, platform, organiser, infra, walk: Walk):
    ana = Organiser(http, platform, organiser)
    badge = await ana.badge("Bike repair")
    console = platform.url("console")
    signed_in = await sign_in_organiser(walk, platform, ORGANISER_EMAIL)
    context = await walk.browser.new_context(java_script_enabled=False)
    await context.add_cookies(cast(Any, await signed_in.context.cookies()))
    device = Device(context, await context.new_page())
    walk.devices.append(device)
    page = device.page

    await device.open(f"{console}/activities/{badge['source_id']}/badge/issue")
    # The link is plain text to select; the copy button needs JavaScript and stays hidden.
    assert (await _text(page, "#open-link")).startswith(f"{platform.url('badge')}/claim/")
    assert not await page.get_by_role("button", name="Copy the link").is_visible()
    learner = f"fixer.{uuid.uuid4().hex[:6]}@example.org"
    await page.get_by_label("Email address").fill(learner)
    await _submit(device, "Issue")
    assert "1 address was accepted" in await _text(page, "#result")
    # Without htmx the progress is a link to follow.
    await device.click(page.get_by_role("link", name="See the progress now").first)

    async def counted() -> bool:
        await page.reload()
        return await _text(page, "[data-count=sent]") == "1"

    await wait_for(counted, timeout=60)
    assert "Every email is sent" in await _text(page, "#issue-progress")
    # axe-core runs in the page, so the same page is audited where JavaScript runs.
    progress_url = page.url
    audited = await walk.new_device()
    await audited.context.add_cookies(cast(Any, await signed_in.context.cookies()))
    await audited.open(progress_url)
    await assert_accessible(audited.page)


async def test_a_playlists_badge_has_the_same_pages_without_a_link(
    http, platform, organiser, infra, walk: Walk
):
    _, badge = await playlist_badge(http, platform, organiser, "Green city")
    console = platform.url("console")
    laptop = await sign_in_organiser(walk, platform, ORGANISER_EMAIL)
    await laptop.open(f"{console}/playlists/{badge['source_id']}/badge")
    await walk.checkpoint(laptop, "playlist-badge-tab")
    assert "Green city" in await laptop.heading(), await laptop.summary()
    assert await laptop.page.get_by_label("The link works").count() == 0
    await laptop.click(laptop.page.get_by_role("link", name="Issue badge").first)
    await walk.checkpoint(laptop, "playlist-issue-page")
    assert "no QR code or link" in await _text(laptop.page, "#link")
    qr = await laptop.page.request.get(f"{console}/playlists/{badge['source_id']}/badge/qr.png")
    assert qr.status == 409
    walk.assert_clean()


# Enough that making the offers and mailing them takes seconds even on a fast machine.
BULK_ROWS = 1_000


async def test_a_large_csv_is_accepted_at_once_and_its_progress_moves_live(
    http, platform, organiser, infra, walk: Walk, tmp_path: Path
):
    """A CSV of 1,000 rows (one more that is bad): the upload answers before the offers are
    made, the page it leads to counts them and their emails as they go, without a reload,
    until every email is sent; the same form sent again issues nothing twice."""
    run = uuid.uuid4().hex[:8]
    email = f"kit.{run}@orchard.example.org"  # an address of its own: sign-ins are limited
    kit = Organiser(http, platform, platform.bootstrap(f"Orchard Friends {run}", email))
    badge = await kit.badge("Community orchard")
    laptop = await sign_in_organiser(walk, platform, email)
    page = laptop.page
    await laptop.open(f"{platform.url('console')}/activities/{badge['source_id']}/badge/issue")
    tag = uuid.uuid4().hex[:6]
    people = [f"picker{n}.{tag}@example.org" for n in range(BULK_ROWS)]
    csv = tmp_path / "pickers.csv"
    csv.write_text("email\n" + "\n".join(people[:10]) + "\nnot an email\n" + "\n".join(people[10:]))
    await page.get_by_label("Or upload a CSV file").set_input_files(csv)
    issue_key = await page.locator("form[action$='/issue/csv'] input[name=issue_key]").input_value()
    await _submit(laptop, "Upload and issue")
    assert "?issue=" in page.url, page.url
    await walk.checkpoint(laptop, "bulk-accepted")
    assert f"{BULK_ROWS} addresses were accepted, 1 row was rejected" in await _text(
        page, "#result"
    )
    rejected = page.locator("table.rejected tbody tr")
    assert await rejected.count() == 1, await laptop.summary()
    assert " ".join((await rejected.first.inner_text()).split()).startswith("12 not an email")

    # The same page, never reloaded (the marker would be gone), shows the counts moving.
    await page.evaluate("window.notReloaded = true")
    seen: list[tuple[int, int]] = []

    async def finished() -> bool:
        counts = page.locator("#issue-progress")
        accepted = int(await _text(page, "#issue-progress [data-count=offers]"))
        sent = int(await _text(page, "#issue-progress [data-count=sent]"))
        if not seen or seen[-1] != (accepted, sent):
            seen.append((accepted, sent))
        return "Every email is sent" in " ".join((await counts.inner_text()).split())

    try:
        await wait_for(finished, timeout=1_200, interval=0.25)
    except AssertionError as late:
        raise AssertionError(f"not done; the counts seen (accepted, sent): {seen[-5:]}") from late
    assert await page.evaluate("window.notReloaded === true"), "the page was reloaded"
    moving = [(a, s) for a, s in seen if (a, s) != (BULK_ROWS, BULK_ROWS)]
    assert moving, f"the progress showed no step before it was done: {seen}"
    assert len(seen) >= 2, seen
    assert await _text(page, "#issue-progress [data-count=sent]") == str(BULK_ROWS)
    assert await _text(page, "#issue-progress [data-count=failed]") == "0"
    assert await _text(page, "#issue-progress [data-count=waiting]") == "0"
    await walk.checkpoint(laptop, "bulk-done")

    # The form sent again (a reload of the POST, a double click) is the same issue.
    console = httpx.AsyncClient(
        base_url=platform.url("console"),
        timeout=60,
        cookies={c["name"]: c["value"] for c in await laptop.context.cookies()},
        headers={"origin": platform.url("console"), "accept": "text/html"},
    )
    async with console:
        again = await console.post(
            f"/activities/{badge['source_id']}/badge/issue/csv",
            data={"issue_key": issue_key},
            files={"file": ("pickers.csv", csv.read_bytes(), "text/csv")},
        )
    assert again.status_code == 303, again.text[:300]
    landed = urlsplit(page.url)
    assert again.headers["location"].split("#")[0] == f"{landed.path}?{landed.query}"
    offers = await http.get(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers", headers=bearer(kit.who)
    )
    assert sorted(o["recipient_email"] for o in offers.json()) == sorted(people)
    walk.assert_clean()


# Each text of the rejected rows' headers on one line, and the table inside its box: read at
# a phone's width, nothing to scroll sideways, in the page or in the table.
REJECTED_ON_A_PHONE = """() => {
  const lines = (el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
  };
  const table = document.querySelector('table.rejected');
  return {
    headers: [...table.querySelectorAll('th')].map((th) => [th.textContent, lines(th)]),
    rows: [...table.querySelectorAll('tbody td:first-child')].map((td) => lines(td)),
    table: [table.scrollWidth, table.parentElement.clientWidth],
    page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
  };
}"""


async def test_a_csvs_rejected_rows_read_on_a_phone_and_its_progress_counts_offers_made(
    http, platform, infra, walk: Walk, tmp_path: Path
):
    run = uuid.uuid4().hex[:8]
    email = f"lou.{run}@seeds.example.org"  # an address of its own: sign-ins are limited
    lou = Organiser(http, platform, platform.bootstrap(f"Seed Library {run}", email))
    badge = await lou.badge("Seed swap")
    laptop = await sign_in_organiser(walk, platform, email)
    page = laptop.page
    await laptop.open(f"{platform.url('console')}/activities/{badge['source_id']}/badge/issue")
    growers = [f"swapper{n}.{run}@example.org" for n in range(3)]
    long_bad = "christopher.alexander-montgomery.smithsonian.at.very-long-subdomain.example.org"
    csv = tmp_path / "swappers.csv"
    csv.write_text("email\n" + "\n".join([growers[0], "not an email", long_bad, *growers[1:]]))
    await page.get_by_label("Or upload a CSV file").set_input_files(csv)
    await _submit(laptop, "Upload and issue")
    assert "3 addresses were accepted, 2 rows were rejected" in await _text(page, "#result")

    await page.set_viewport_size(PHONE)
    try:
        layout = await page.evaluate(REJECTED_ON_A_PHONE)
    finally:
        await page.set_viewport_size(DESKTOP)
    assert [name for name, _ in layout["headers"]] == ["Row", "Value", "Why"], layout
    assert all(lines == 1 for _, lines in layout["headers"]), layout
    assert layout["rows"] == [1, 1], layout
    scroll, width = layout["table"]
    assert scroll <= width, layout
    scroll, width = layout["page"]
    assert scroll <= width, layout

    # In the organiser's words: the offers made of the rows accepted, the rejected apart.
    progress = page.locator("#issue-progress")
    assert (await progress.locator("dt").first.inner_text()).strip() == "Offers made"
    assert await _text(page, "#issue-progress [data-count=rejected]") == "2"
    await progress.filter(has_text="Every email is sent").wait_for(timeout=60_000)
    assert await _text(page, "#issue-progress [data-count=offers]") == "3"
    assert await _text(page, "#issue-progress [data-count=waiting]") == "0"
    assert "accepted" not in await _text(page, "#issue-progress")
    await walk.checkpoint(laptop, "csv-rejected-rows")
    walk.assert_clean()


async def test_an_archived_playlist_offers_no_issuing(http, platform, infra, walk: Walk):
    """Archived, a playlist changes no more: no Issue badge tab or button, its Offers and
    awards page without a way to issue, and a form opened before and sent after the archiving
    gets a page that says so, issuing nothing."""
    run = uuid.uuid4().hex[:8]
    email = f"mo.{run}@parks.example.org"  # an address of its own: sign-ins are limited
    mo = platform.bootstrap(f"Park Keepers {run}", email)
    _, badge = await playlist_badge(http, platform, mo, "Wild parks")
    playlist = badge["source_id"]
    console = platform.url("console")
    laptop = await sign_in_organiser(walk, platform, email)
    page = laptop.page
    await laptop.open(f"{console}/playlists/{playlist}/badge/issue")
    await page.get_by_label("Email address").fill(f"late.{run}@example.org")

    archived = await http.post(
        f"{platform.url('activity')}/v1/playlists/{playlist}/archive", headers=bearer(mo)
    )
    assert archived.status_code == 200, archived.text

    async def shown_archived() -> bool:
        found = await http.get(
            f"{platform.url('activity')}/v1/playlists/{playlist}", headers=bearer(mo)
        )
        return found.json()["status"] == "archived"

    await wait_for(shown_archived, timeout=30)

    # The form opened before: sent now, it issues nothing and says why.
    await _submit(laptop, "Issue")
    assert laptop.last is not None and laptop.last.status == 409, await laptop.summary()
    assert await laptop.heading() == "No longer issued"
    assert "its badge is no longer issued" in await _text(page, "main")
    await walk.checkpoint(laptop, "archived-playlist-form-refused")
    offers = await http.get(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers", headers=bearer(mo)
    )
    assert offers.json() == []

    for path in ("", "/badge", "/badge/issue"):
        await laptop.open(f"{console}/playlists/{playlist}{path}")
        assert laptop.last is not None and laptop.last.status == 200, await laptop.summary()
        assert await page.get_by_role("link", name="Issue badge").count() == 0, path
        for button in ("Issue", "Issue to the list", "Upload and issue"):
            assert await page.get_by_role("button", name=button, exact=True).count() == 0
        await walk.checkpoint(laptop, f"archived-playlist{path.replace('/', '-')}")
    assert "no longer issued" in await _text(page, "#issuing-closed")
    assert await page.get_by_role("link", name="Offers and awards").count() == 1
    walk.assert_clean()
