"""A learner earns badges that ask for evidence, in a real browser: their claim link starts the
quest; they submit text, a link and a file; the evidence is confirmed by themselves, voted on
by a peer from the review email, or reviewed by the organiser from the review email. Returned
evidence is resubmitted from the "returned with feedback" email on another device, and a
learner on a new device signs in from the sign-in page."""

from __future__ import annotations

import io
import re
import uuid

from PIL import Image
from playwright.async_api import FilePayload

from tests.browser.controls import (
    APPROVE,
    ASK_FOR_CHANGES,
    CONFIRM,
    EMAIL_FIELD,
    ERROR_HEADING,
    FEEDBACK,
    SIGN_IN,
    START_QUEST,
    SUBMIT,
    link_or_button,
    task,
)
from tests.browser.inbox import Inbox
from tests.browser.organiser import Organiser
from tests.browser.walk import Device, Walk


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), (40, 120, 90)).save(out, format="PNG")
    return out.getvalue()


def offer_links(platform) -> tuple[str, str]:
    """Where a quest badge's offer email may lead: its claim page, or the quest's start."""
    return f"{platform.url('badge')}/claim/", f"{platform.url('evidence')}/quests/start/"


async def start_the_quest(walk: Walk, device: Device, inbox: Inbox, platform) -> None:
    """From the offer email to the quest page, on `device`."""
    offer = await inbox.next(*offer_links(platform))
    await walk.email(offer, "offer-email")
    await device.follow(offer, *offer_links(platform))
    if "/claim/" in device.page.url:
        await walk.checkpoint(device, "claim-page")
        start = link_or_button(device.page, START_QUEST)
        assert await start.count(), f"no way to start the quest: {await device.summary()}"
        await device.click(start)
    if "/quests/start/" in device.page.url:
        # The link alone signs nobody in: the learner presses the button.
        await walk.checkpoint(device, "quest-start-page")
        start = link_or_button(device.page, START_QUEST)
        assert await start.count(), f"no button to start the quest: {await device.summary()}"
        await device.click(start)
    await walk.checkpoint(device, "quest-page")
    assert "/quests/" in device.page.url, await device.summary()


async def submit(device: Device, title: str, kind: str, value: str | bytes) -> None:
    """Fills in the task's evidence form and submits it."""
    box = task(device.page, title)
    assert await box.count(), f"no form for the task {title!r}: {await device.summary()}"
    if kind == "file":
        assert isinstance(value, bytes)
        chooser = box.locator('input[type="file"]')
        await chooser.set_input_files(
            files=[FilePayload(name="my-work.png", mimeType="image/png", buffer=value)]
        )
    else:
        await box.get_by_role("textbox").first.fill(str(value))
    await device.click(box.get_by_role("button", name=SUBMIT).first)
    assert device.last is not None and device.last.status < 400, await device.summary()
    assert "/quests/" in device.page.url, await device.summary()


async def review(walk: Walk, device: Device, message, platform, verdict, feedback="") -> None:
    """A reviewer opens the review email's link on `device` and votes."""
    await device.follow(message, f"{platform.url('evidence')}/reviews/")
    await walk.checkpoint(device, "review-page")
    assert device.last is not None and device.last.status == 200, await device.summary()
    if feedback:
        await device.page.get_by_label(FEEDBACK).first.fill(feedback)
    await device.click(device.page.get_by_role("button", name=verdict).first)
    await walk.checkpoint(device, "review-recorded")
    heading = await device.heading()
    recorded = device.last is not None and device.last.status < 400
    assert recorded, f"the vote was refused: {await device.summary()}"
    assert not ERROR_HEADING.search(heading), await device.summary()


async def reach_the_quest(walk: Walk, device: Device, inbox: Inbox, platform, title) -> bool:
    """After an emailed link on a device the quest has not seen: on the quest page, whether the
    link signed the learner in or led to a page that can (asks for their email and mails them
    a link), and through a list of their quests if that is where signing in lands."""
    evidence = platform.url("evidence")

    async def on_the_quest() -> bool:
        return "/quests/" in device.page.url and title in await device.heading()

    field = device.page.get_by_label(EMAIL_FIELD)
    button = device.page.get_by_role("button", name=SIGN_IN)

    async def press_sign_in() -> None:
        # A sign-in link shows a button: only pressing it signs this browser in.
        if "/sign-in/" in device.page.url and not await field.count() and await button.count():
            await device.click(button.first)
            await walk.checkpoint(device, "signed-in")

    await press_sign_in()
    if not await on_the_quest() and await field.count() and await button.count():
        await field.first.fill(inbox.address)
        await device.click(button.first)
        await walk.checkpoint(device, "check-your-inbox")
        mailed = await inbox.next(f"{evidence}/")
        await walk.email(mailed, "sign-in-email")
        await device.follow(mailed, f"{evidence}/")
        await walk.checkpoint(device, "sign-in-link")
        await press_sign_in()
    listed = device.page.get_by_role("link", name=title)
    if title not in await device.heading() and await listed.count():
        await device.click(listed.first)
        await walk.checkpoint(device, "quest-page")
    return await on_the_quest()


async def see_the_awarded_badge(walk: Walk, device: Device, inbox: Inbox, platform, title) -> None:
    badges = f"{platform.url('badge')}/badges/"
    award = await inbox.next(badges)
    await walk.email(award, "award-email")
    await device.follow(award, badges)
    await walk.checkpoint(device, "badge-page")
    assert title in await device.heading(), await device.summary()


async def test_self_confirmed_text_link_and_file(http, platform, organiser, infra, walk):
    ana = Organiser(http, platform, organiser)
    title = "Self-made radio show"
    badge = await ana.badge(
        title,
        evidence_mode="self",
        tasks=[
            {"title": "What you learned", "description": "A few sentences.", "kind": "text"},
            {"title": "Your show online", "description": "Where it can be heard.", "kind": "url"},
            {"title": "A photo of the studio", "kind": "file", "media_types": ["image/png"]},
        ],
    )
    learner = f"self.{uuid.uuid4().hex[:8]}@example.org"
    inbox = Inbox(infra.mailbox_dir, learner)
    await ana.issue(badge, learner)
    laptop = await walk.new_device()
    await start_the_quest(walk, laptop, inbox, platform)

    for heading, kind, value in (
        ("What you learned", "text", "How to mix two microphones <and> a jingle."),
        ("Your show online", "url", "https://example.org/shows/42"),
        ("A photo of the studio", "file", _png()),
    ):
        await submit(laptop, heading, kind, value)
        await walk.checkpoint(laptop, f"submitted-{kind}")
        confirm = task(laptop.page, heading).get_by_role("button", name=CONFIRM)
        assert await confirm.count(), f"no way to confirm {heading!r}: {await laptop.summary()}"
        await laptop.click(confirm.first)
        await walk.checkpoint(laptop, f"confirmed-{kind}")
    assert re.search(r"3 of 3|every task|complete", await laptop.page.inner_text("main"), re.I)
    await see_the_awarded_badge(walk, laptop, inbox, platform, title)
    walk.assert_clean()


async def test_peer_review_with_a_rejection_and_a_resubmission_on_another_device(
    http, platform, organiser, infra, walk
):
    ana = Organiser(http, platform, organiser)
    title = "Peer-reviewed zine"
    badge = await ana.badge(
        title,
        evidence_mode="peer",
        peer_approvals=1,
        tasks=[{"title": "What you made", "description": "Tell us about it.", "kind": "text"}],
    )
    run = uuid.uuid4().hex[:8]
    learner, peer = f"zine.{run}@example.org", f"peer.{run}@example.org"
    await ana.invite_peers(badge, [peer])
    inbox, peer_inbox = Inbox(infra.mailbox_dir, learner), Inbox(infra.mailbox_dir, peer)
    await ana.issue(badge, learner)
    laptop = await walk.new_device()
    await start_the_quest(walk, laptop, inbox, platform)
    await submit(laptop, "What you made", "text", "A zine about our street's trees.")
    await walk.checkpoint(laptop, "submitted")

    reviews = f"{platform.url('evidence')}/reviews/"
    asked = await peer_inbox.next(reviews)
    await walk.email(asked, "review-request-email")
    peer_laptop = await walk.new_device()
    await review(walk, peer_laptop, asked, platform, ASK_FOR_CHANGES, "Please add a photo.")

    # The learner reads the returned email on their phone: a device the quest never saw.
    returned = await inbox.next(platform.url("evidence"))
    await walk.email(returned, "returned-email")
    phone = await walk.new_device()
    await phone.follow(returned, platform.url("evidence"))
    await walk.checkpoint(phone, "returned-link-on-a-new-device")
    on_the_quest = await reach_the_quest(walk, phone, inbox, platform, title)
    assert on_the_quest, (
        "the returned-with-feedback link does not open the quest on a new device "
        f"(issue 7, item 3): {await phone.summary()}"
    )
    feedback = await task(phone.page, "What you made").inner_text()
    assert "Please add a photo." in feedback, f"the feedback is not shown: {await phone.summary()}"
    await submit(phone, "What you made", "text", "A zine about our street's trees, with photos.")
    await walk.checkpoint(phone, "resubmitted")

    asked_again = await peer_inbox.next(reviews)
    await review(walk, peer_laptop, asked_again, platform, APPROVE)
    await see_the_awarded_badge(walk, phone, inbox, platform, title)
    walk.assert_clean()


async def test_organiser_reviews_from_the_emailed_link(http, platform, infra, walk):
    run = uuid.uuid4().hex[:8]
    reviewer = f"ines.{run}@northside.example.org"
    ines = Organiser(http, platform, platform.bootstrap(f"Northside Makers {run}", reviewer))
    title = "Organiser-reviewed workshop"
    badge = await ines.badge(
        title,
        evidence_mode="organiser",
        tasks=[
            {"title": "A photo of what you built", "kind": "file", "media_types": ["image/png"]}
        ],
    )
    learner = f"maker.{run}@example.org"
    inbox, organiser_inbox = Inbox(infra.mailbox_dir, learner), Inbox(infra.mailbox_dir, reviewer)
    # The evidence service learns who reviews for the organisation from the activity service.
    await platform.caught_up("evidence", "activity.events")
    await ines.issue(badge, learner)
    laptop = await walk.new_device()
    await start_the_quest(walk, laptop, inbox, platform)
    await submit(laptop, "A photo of what you built", "file", _png())
    await walk.checkpoint(laptop, "submitted")

    # The organiser's link is the evidence service's to shape: any link into it will do.
    asked = await organiser_inbox.next(f"{platform.url('evidence')}/")
    await walk.email(asked, "review-request-email")
    desk = await walk.new_device()
    await desk.follow(asked, f"{platform.url('evidence')}/")
    await walk.checkpoint(desk, "review-page")
    await desk.click(desk.page.get_by_role("button", name=APPROVE).first)
    await walk.checkpoint(desk, "review-recorded")
    recorded = desk.last is not None and desk.last.status < 400
    assert recorded, (
        f"the organiser's Approve from the emailed link was refused (issue 7, item 2): "
        f"{await desk.summary()}"
    )
    await see_the_awarded_badge(walk, laptop, inbox, platform, title)
    walk.assert_clean()


async def test_sign_in_from_the_sign_in_page_on_a_new_device(
    http, platform, organiser, infra, walk
):
    ana = Organiser(http, platform, organiser)
    title = "Returning learner"
    badge = await ana.badge(
        title, evidence_mode="self", tasks=[{"title": "Your notes", "kind": "text"}]
    )
    learner = f"back.{uuid.uuid4().hex[:8]}@example.org"
    inbox = Inbox(infra.mailbox_dir, learner)
    await ana.issue(badge, learner)
    laptop = await walk.new_device()
    await start_the_quest(walk, laptop, inbox, platform)

    evidence = platform.url("evidence")
    phone = await walk.new_device()
    await phone.open(f"{evidence}/sign-in")
    await walk.checkpoint(phone, "sign-in-page")
    found = phone.last is not None and phone.last.status == 200
    assert found, f"no sign-in page (issue 7, item 4): {await phone.summary()}"
    await phone.page.get_by_label(EMAIL_FIELD).first.fill(learner)
    await phone.click(phone.page.get_by_role("button", name=SIGN_IN).first)
    await walk.checkpoint(phone, "check-your-inbox")
    assert phone.last is not None and phone.last.status < 400, await phone.summary()

    mailed = await inbox.next(f"{evidence}/")
    await walk.email(mailed, "sign-in-email")
    await phone.follow(mailed, f"{evidence}/")
    await walk.checkpoint(phone, "signed-in-on-the-new-device")
    landed = await reach_the_quest(walk, phone, inbox, platform, title)
    assert landed, f"the mailed sign-in link did not lead to the quest: {await phone.summary()}"
    walk.assert_clean()
