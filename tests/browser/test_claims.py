"""A learner claims a badge in a real browser: from the personal link in their email, and from
a badge's open link (they give their email, and accept from the link mailed to them)."""

from __future__ import annotations

import uuid
from urllib.parse import urljoin

from tests.browser.controls import ACCEPT, DOWNLOAD, EMAIL_FIELD, SEND_ME
from tests.browser.inbox import Inbox
from tests.browser.organiser import Organiser
from tests.browser.walk import Device, Walk

PNG = b"\x89PNG\r\n\x1a\n"


async def accept_and_see_the_badge(walk: Walk, device: Device, title: str) -> None:
    """On a claim page: Accept, then the badge page, whose download gives the baked badge."""
    accept = device.page.get_by_role("button", name=ACCEPT)
    assert await accept.count(), f"no Accept button: {await device.summary()}"
    await device.click(accept.first)
    await walk.checkpoint(device, "badge-page")
    assert "/badges/" in device.page.url, await device.summary()
    assert title in await device.heading(), await device.summary()
    download = device.page.get_by_role("link", name=DOWNLOAD)
    assert await download.count(), f"no download link: {await device.summary()}"
    href = await download.first.get_attribute("href")
    assert href, "the download link has no address"
    baked = await device.page.request.get(urljoin(device.page.url, href))
    assert baked.status == 200, f"the download answered {baked.status}"
    body = await baked.body()
    assert body.startswith(PNG) or b"<svg" in body[:500], f"not a badge image: {body[:60]!r}"


async def test_claim_by_personal_link(http, platform, organiser, infra, walk):
    ana = Organiser(http, platform, organiser)
    badge = await ana.badge("Community radio")
    learner = f"radio.{uuid.uuid4().hex[:8]}@example.org"
    inbox = Inbox(infra.mailbox_dir, learner)
    await ana.issue(badge, learner)
    claim = f"{platform.url('badge')}/claim/"

    offer = await inbox.next(claim)
    await walk.email(offer, "offer-email")
    laptop = await walk.new_device()
    await laptop.follow(offer, claim)
    await walk.checkpoint(laptop, "claim-page")
    assert "Community radio" in await laptop.page.locator("main").inner_text()
    await accept_and_see_the_badge(walk, laptop, "Community radio")

    award = await inbox.next(f"{platform.url('badge')}/badges/")
    await walk.email(award, "award-email")
    await laptop.follow(award, f"{platform.url('badge')}/badges/")
    assert "Community radio" in await laptop.heading(), await laptop.summary()
    walk.assert_clean()


async def test_claim_by_open_link(http, platform, organiser, infra, walk):
    ana = Organiser(http, platform, organiser)
    # Enabled on purpose: what an open link does by default is the badge service's decision.
    badge = await ana.badge("Open day", open_link={"enabled": True})
    open_link = await ana.open_link(badge)
    learner = f"open.{uuid.uuid4().hex[:8]}@example.org"
    inbox = Inbox(infra.mailbox_dir, learner)

    phone = await walk.new_device()
    await phone.open(open_link)
    await walk.checkpoint(phone, "open-link-page")
    field = phone.page.get_by_label(EMAIL_FIELD).first
    assert await field.count(), f"no email field: {await phone.summary()}"
    await field.fill(learner)
    await phone.click(phone.page.get_by_role("button", name=SEND_ME).first)
    await walk.checkpoint(phone, "check-your-inbox")
    assert phone.last is not None and phone.last.status < 400, await phone.summary()
    assert learner in await phone.page.locator("main").inner_text(), await phone.summary()

    claim = f"{platform.url('badge')}/claim/"
    offer = await inbox.next(claim)
    await walk.email(offer, "offer-email")
    await phone.follow(offer, claim)
    await walk.checkpoint(phone, "claim-page")
    await accept_and_see_the_badge(walk, phone, "Open day")
    walk.assert_clean()
