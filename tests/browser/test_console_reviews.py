"""The organiser's evidence review in the console, in a real Chromium: a learner submits
evidence for an organiser-reviewed badge; the organiser signs in, opens the review queue, sees
the submission with its file beside the badge's criteria, tries to return it without feedback
(the page says why, nothing changes), returns it with feedback; the learner submits again; the
organiser approves it, and the badge is awarded. Every page is checked by axe-core and at
375 px (tests/browser/walk.py)."""

from __future__ import annotations

import io
import re
import uuid

from PIL import Image

from tests.browser.audit import assert_accessible
from tests.browser.console_support import sign_in_organiser
from tests.browser.controls import APPROVE, FEEDBACK, link_or_button
from tests.browser.inbox import Inbox
from tests.browser.organiser import Organiser
from tests.browser.test_quests import see_the_awarded_badge, start_the_quest, submit
from tests.browser.walk import Device, Walk
from tests.support import Platform, wait_for

RETURN = re.compile(r"return", re.I)
TITLE = "Bird box workshop"
PHOTO_TASK = "A photo of your bird box"
NOTES_TASK = "How you built it"


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (160, 120), colour).save(out, format="PNG")
    return out.getvalue()


async def open_from_queue(walk: Walk, desk: Device, platform: Platform, task: str) -> None:
    await desk.open(f"{platform.url('console')}/reviews")
    await walk.checkpoint(desk, "review-queue")
    await assert_accessible(desk.page)
    assert await desk.heading() == "Review queue", await desk.summary()
    entry = desk.page.get_by_role("link", name=task).first
    assert await entry.count(), f"{task!r} is not in the queue: {await desk.summary()}"
    await desk.click(entry)
    await walk.checkpoint(desk, "review-page")
    assert desk.last is not None and desk.last.status == 200, await desk.summary()
    await assert_accessible(desk.page)


async def test_the_organiser_reviews_evidence_in_the_console(http, platform, infra, walk):
    run = uuid.uuid4().hex[:8]
    email = f"ines.{run}@quay.example.org"
    ines = Organiser(http, platform, platform.bootstrap(f"Quay Makers {run}", email))
    badge = await ines.badge(
        TITLE,
        evidence_mode="organiser",
        tasks=[
            {"title": NOTES_TASK, "description": "A few sentences.", "kind": "text"},
            {"title": PHOTO_TASK, "kind": "file", "media_types": ["image/png"]},
        ],
    )
    learner = f"robin.{run}@example.org"
    inbox = Inbox(infra.mailbox_dir, learner)
    await platform.caught_up("evidence", "activity.events")
    await ines.issue(badge, learner)
    laptop = await walk.new_device()
    await start_the_quest(walk, laptop, inbox, platform)
    quest_url = laptop.page.url
    await submit(laptop, NOTES_TASK, "text", "Cut six boards, <nailed> them, hung it high.")
    await submit(laptop, PHOTO_TASK, "file", _png((120, 80, 40)))
    await walk.checkpoint(laptop, "submitted")

    desk = await sign_in_organiser(walk, platform, email, next_path="/reviews", name="organiser")
    await open_from_queue(walk, desk, platform, PHOTO_TASK)
    page = desk.page
    main = await page.inner_text("main")
    assert f"Take part in {TITLE} and show what you made." in main, "no criteria beside it"
    assert "Cut six boards, <nailed> them, hung it high." in main, "the other task's text"
    assert "robin" not in main and "r•••@example.org" in main, "the learner is not masked"
    image = page.get_by_role("img", name=re.compile("my-work.png"))
    assert await image.count(), f"the file is not shown: {await desk.summary()}"
    width = await image.first.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width == 160, "the learner's image does not load through the console"
    source = await image.first.get_attribute("src") or ""
    opened = await desk.context.request.get(platform.url("console") + source)
    assert opened.status == 200 and opened.headers["content-type"] == "image/png"
    assert "sandbox" in opened.headers["content-security-policy"]
    assert opened.headers["x-content-type-options"] == "nosniff"

    # Returned without feedback: the page again, saying why; nothing recorded.
    await desk.click(page.get_by_role("button", name=RETURN).first)
    await walk.checkpoint(desk, "returned-without-feedback")
    assert desk.last is not None and desk.last.status == 422, await desk.summary()
    assert "Write feedback" in await page.inner_text("main"), await desk.summary()
    await assert_accessible(page)
    rows = await platform.query("evidence", "SELECT count(*) AS n FROM reviews")
    assert rows[0]["n"] == 0, "a return without feedback was recorded"

    await page.get_by_label(FEEDBACK).first.fill("Show it on its tree, please.")
    await desk.click(page.get_by_role("button", name=RETURN).first)
    await walk.checkpoint(desk, "returned-with-feedback")
    assert desk.page.url.endswith("/reviews"), await desk.summary()
    assert "Returned to the learner" in await page.inner_text("main"), "no flash message"

    # The learner reads the feedback and submits again; the organiser approves both tasks.
    await inbox.next(platform.url("evidence"))
    await laptop.open(quest_url)
    await walk.checkpoint(laptop, "returned-quest")
    assert "Show it on its tree, please." in await laptop.page.inner_text("main")
    await submit(laptop, PHOTO_TASK, "file", _png((40, 120, 40)))
    await walk.checkpoint(laptop, "resubmitted")

    for task in (PHOTO_TASK, NOTES_TASK):
        await open_from_queue(walk, desk, platform, task)
        await desk.click(link_or_button(desk.page, APPROVE))
        await walk.checkpoint(desk, "approved")
        assert desk.page.url.endswith("/reviews"), await desk.summary()
        assert "Approved" in await desk.page.inner_text("main"), await desk.summary()
    assert "Nothing is waiting for review" in await desk.page.inner_text("main")

    await see_the_awarded_badge(walk, laptop, inbox, platform, TITLE)

    async def awarded() -> bool:
        rows = await platform.query(
            "badge", "SELECT count(*) AS n FROM assertions WHERE recipient_email = $1", learner
        )
        return rows[0]["n"] == 1

    await wait_for(awarded, timeout=30)
    walk.assert_clean()
