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
from playwright.async_api import FilePayload, Page

from tests.browser.audit import assert_accessible
from tests.browser.console_support import sign_in_organiser
from tests.browser.controls import APPROVE, FEEDBACK, SUBMIT, link_or_button
from tests.browser.controls import task as task_box
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


PLAN_TASK = "Your build plan"
# A one-page PDF that says "Bird box plan".
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 200]/Contents 4 0 R"
    b"/Resources<</Font<</F1 5 0 R>>>>>>endobj\n"
    b"4 0 obj<</Length 47>>stream\nBT /F1 24 Tf 20 100 Td (Bird box plan) Tj ET\nendstream endobj\n"
    b"5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
# Chromium's own PDF viewer: the frame it shows a PDF in, where it shows one.
PDF_VIEWER = "chrome-extension://mhjfbmdgcfjbbpaeojofohoefgiehjai/"


def _pdf_viewers(page: Page) -> list[str]:
    return [frame.url for frame in page.frames if frame.url.startswith(PDF_VIEWER)]


async def test_a_pdf_is_opened_in_place_on_the_review_page(http, platform, infra, walk):
    """A learner's PDF shows inside the review page, in Chromium's PDF viewer (its answer may
    be framed by the console's pages alone, and stays sandboxed), and opens in a tab of its own
    from the link beside it."""
    run = uuid.uuid4().hex[:8]
    email = f"jo.{run}@quay.example.org"
    jo = Organiser(http, platform, platform.bootstrap(f"Quay Planners {run}", email))
    badge = await jo.badge(
        "Bird box planning",
        evidence_mode="organiser",
        tasks=[{"title": PLAN_TASK, "kind": "file", "media_types": ["application/pdf"]}],
    )
    learner = f"sam.{run}@example.org"
    inbox = Inbox(infra.mailbox_dir, learner)
    await platform.caught_up("evidence", "activity.events")
    await jo.issue(badge, learner)
    laptop = await walk.new_device()
    await start_the_quest(walk, laptop, inbox, platform)
    box = task_box(laptop.page, PLAN_TASK)
    await box.locator('input[type="file"]').set_input_files(
        files=[FilePayload(name="plan.pdf", mimeType="application/pdf", buffer=PDF)]
    )
    await laptop.click(box.get_by_role("button", name=SUBMIT).first)
    assert laptop.last is not None and laptop.last.status < 400, await laptop.summary()

    desk = await sign_in_organiser(walk, platform, email, next_path="/reviews", name="organiser")
    await open_from_queue(walk, desk, platform, PLAN_TASK)
    page = desk.page
    shown = page.locator("iframe.evidence-pdf")
    assert await shown.count() == 1, f"the PDF is not shown in place: {await desk.summary()}"
    assert await shown.get_attribute("title") == "The learner's file plan.pdf"
    source = await shown.get_attribute("src") or ""
    assert re.fullmatch(r"/reviews/[0-9a-f-]{36}/file", source), source

    async def viewer_in_page() -> bool:
        framed = [f.url for f in page.frames if f.url.endswith(source)]
        return bool(framed) and bool(_pdf_viewers(page))

    await wait_for(viewer_in_page, timeout=30)
    await walk.checkpoint(desk, "review-page-pdf")

    opened = await desk.context.request.get(platform.url("console") + source)
    assert opened.status == 200 and opened.headers["content-type"] == "application/pdf"
    assert opened.headers["content-disposition"].startswith("inline")
    policy = opened.headers["content-security-policy"]
    assert "sandbox" in policy and "frame-ancestors 'self'" in policy, policy
    assert opened.headers["x-frame-options"] == "SAMEORIGIN"
    assert opened.headers["x-content-type-options"] == "nosniff"
    assert await opened.body() == PDF

    # The link beside it opens the PDF in a tab of its own, in the same viewer.
    link = page.get_by_role("link", name="Open plan.pdf in a new tab")
    assert await link.get_attribute("target") == "_blank"
    async with desk.context.expect_page() as opening:
        await link.click()
    tab = await opening.value
    await tab.wait_for_load_state()
    assert tab.url == platform.url("console") + source, tab.url

    async def viewer_in_tab() -> bool:
        return bool(_pdf_viewers(tab))

    await wait_for(viewer_in_tab, timeout=30)
    await tab.close()

    # Another organisation's organiser gets no file.
    other = f"kim.{run}@elsewhere.example.org"
    platform.bootstrap(f"Elsewhere {run}", other)
    stranger = await sign_in_organiser(walk, platform, other, name="stranger")
    refused = await stranger.context.request.get(platform.url("console") + source)
    assert refused.status in (403, 404), refused.status
    assert await refused.body() != PDF
    walk.assert_clean()
