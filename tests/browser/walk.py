"""A learner's walk through the platform in a real Chromium, checked at every step.

Each step is a `checkpoint`: a screenshot at desktop width and at a 375 px phone width, axe-core
on the page (violations of serious or critical impact are problems), and the page must be an
HTML page that lays out at the phone's width without scrolling sideways. Emails are rendered
from the mailbox the same way. Problems are collected, printed as they are found and written
beside the screenshots, so one run shows every page that is wrong; the walk's own steps (a
button missing, a 403) fail the test at once.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from axe_playwright_python.async_playwright import Axe  # type: ignore[import-untyped]
from playwright.async_api import Browser, BrowserContext, Locator, Page, Response, ViewportSize

DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=375, height=740)
SERIOUS = ("serious", "critical")
AXE = Axe()

# What the phone check reports: how wide the page lays out (a phone without a viewport meta
# lays a page out at 980 px), how wide its content is, what sticks out past the phone's edge,
# and form controls that stick out of the block they sit in (past its padding edge). On an
# emulated phone window.innerWidth grows with content that is too wide, so the page's own width
# is documentElement.clientWidth.
LAYOUT = """(limit) => {
  const wide = [];
  for (const el of document.body ? document.body.querySelectorAll('*') : []) {
    const box = el.getBoundingClientRect();
    const text = (el.getAttribute('name') || el.textContent || '').trim().slice(0, 60);
    if (box.right > limit + 1 && box.width > 0) {
      wide.push(`<${el.tagName.toLowerCase()}> ends at ${Math.round(box.right)}px "${text}"`);
    } else if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
      // Its content (a long word, a long link) runs out of its box.
      const tag = el.tagName.toLowerCase();
      wide.push(`<${tag}> holds ${el.scrollWidth}px in ${el.clientWidth}px "${text}"`);
    }
  }
  const out = [];
  for (const el of document.querySelectorAll('input, textarea, select, button')) {
    let block = el.parentElement;
    while (block && getComputedStyle(block).display.startsWith('inline')) {
      block = block.parentElement;
    }
    if (!block) continue;
    const style = getComputedStyle(block);
    const edge = block.getBoundingClientRect().right
      - parseFloat(style.borderRightWidth) - parseFloat(style.paddingRight);
    const right = el.getBoundingClientRect().right;
    if (right > edge + 1) {
      const name = el.getAttribute('name') || el.getAttribute('type') || '';
      out.push(`<${el.tagName.toLowerCase()} ${name}> by ${Math.round(right - edge)}px`);
    }
  }
  const viewport = document.querySelector('meta[name=viewport]');
  return {
    clientWidth: document.documentElement.clientWidth,
    innerWidth: window.innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    viewport: viewport ? viewport.getAttribute('content') : null,
    wide: wide.slice(-4),
    controlsOut: out,
  };
}"""


@dataclass
class Device:
    """One browser context: a learner's laptop or phone, a reviewer's, an organiser's."""

    context: BrowserContext
    page: Page
    responses: list[Response] = field(default_factory=list)

    @property
    def last(self) -> Response | None:
        """The response of the page on screen (the last main-frame document)."""
        return self.responses[-1] if self.responses else None

    async def open(self, url: str) -> Response | None:
        return await self.page.goto(url)

    async def click(self, target: Locator) -> Response | None:
        """Clicks something that loads a new page, and waits for that page."""
        async with self.page.expect_navigation() as navigation:
            await target.click()
        return await navigation.value

    async def follow(self, message: EmailMessage, *into: str) -> Response | None:
        """Opens the email in this device and clicks its first link into one of the addresses
        `into`, as a reader of the HTML email does; a text-only email's link is opened as it
        reads."""
        html = _email_html(message)
        if html is None:
            pattern = "|".join(re.escape(prefix) for prefix in into)
            found = re.search(f"(?:{pattern})" + r"\S*", _plain(message))
            assert found, f"no link to {into} in the email {message['Subject']!r}"
            return await self.open(found.group(0))
        await self.page.set_content(html)
        link = self.page.locator(", ".join(f'a[href^="{prefix}"]' for prefix in into)).first
        assert await link.count(), f"no link to {into} in the email {message['Subject']!r}"
        return await self.click(link)

    async def heading(self) -> str:
        first = self.page.get_by_role("heading", level=1).first
        return (await first.inner_text()).strip() if await first.count() else ""

    async def summary(self) -> str:
        """What the page on screen says, for the message of a failing step."""
        status = self.last.status if self.last else "?"
        kind = (self.last.headers.get("content-type", "?") if self.last else "?").split(";")[0]
        text = " ".join((await self.page.locator("body").inner_text()).split())[:300]
        return f"{self.page.url} answered {status} {kind}: {text!r}"


def _plain(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    return str(part.get_content()) if part is not None else ""


def _email_html(message: EmailMessage) -> str | None:
    """The HTML part with its inline images (cid:) made data URLs, as a mail client shows it."""
    part = message.get_body(("html",))
    if part is None:
        return None
    html = str(part.get_content())
    for related in message.walk():
        cid = related.get("Content-ID")
        if cid and not related.is_multipart():
            payload = related.get_payload(decode=True)
            assert isinstance(payload, bytes)
            data = base64.b64encode(payload).decode()
            uri = f"data:{related.get_content_type()};base64,{data}"
            html = html.replace(f"cid:{cid.strip('<>')}", uri)
    return html


class Walk:
    """The checkpoints of one test: screenshots into `folder`, problems collected."""

    def __init__(self, browser: Browser, folder: Path) -> None:
        self.browser = browser
        self.folder = folder
        self.step = 0
        self.problems: list[str] = []
        # Emails are held to account by tests/browser/test_emails.py; a walk shows its own.
        self.email_problems: list[str] = []
        self.devices: list[Device] = []
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*"):
            old.unlink()

    async def new_device(self) -> Device:
        """A fresh browser context: no cookies, as on a new laptop or phone."""
        context = await self.browser.new_context(viewport=DESKTOP)
        # Generous: on a loaded machine a submission waits for Kafka before the page answers.
        context.set_default_timeout(30_000)
        page = await context.new_page()
        device = Device(context, page)

        def on_response(response: Response) -> None:
            if response.request.is_navigation_request() and response.frame == page.main_frame:
                device.responses.append(response)

        page.on("response", on_response)
        self.devices.append(device)
        return device

    async def close(self) -> None:
        for device in self.devices:
            await device.context.close()

    def _problem(self, name: str, text: str, into: list[str] | None = None) -> None:
        line = f"{name}: {text}"
        print("PROBLEM", line)
        (self.problems if into is None else into).append(line)
        with (self.folder / "problems.txt").open("a") as out:
            out.write(line + "\n")

    def _shot(self, name: str) -> Path:
        self.step += 1
        return self.folder / f"{self.step:02d}-{name}.png"

    async def _axe(self, page: Page, name: str, into: list[str] | None = None) -> None:
        results = await AXE.run(page)
        for violation in results.response["violations"]:
            if violation["impact"] in SERIOUS:
                nodes = "; ".join(
                    f"{', '.join(map(str, n['target']))} {n['html'][:120]}"
                    for n in violation["nodes"][:3]
                )
                self._problem(
                    name,
                    f"axe {violation['id']} ({violation['impact']}): {violation['help']} "
                    f"at {nodes}",
                    into,
                )

    def _layout_problems(
        self, name: str, layout: dict[str, Any], what: str, into: list[str] | None = None
    ) -> None:
        width = layout["clientWidth"]
        if width > PHONE["width"] + 1:
            self._problem(
                name,
                f"{what} lays out {width} px wide on a {PHONE['width']} px phone "
                f"(viewport meta: {layout['viewport']!r})",
                into,
            )
        elif layout["scrollWidth"] > width or layout["scrollWidth"] > layout["innerWidth"]:
            self._problem(
                name,
                f"{what} scrolls sideways at {PHONE['width']} px: scrollWidth "
                f"{layout['scrollWidth']} > its width {width}; past the edge: {layout['wide']}",
                into,
            )
        if layout["controlsOut"]:
            self._problem(
                name,
                f"{what} at {PHONE['width']} px: form controls stick out of their box: "
                f"{layout['controlsOut']}",
                into,
            )

    async def checkpoint(self, device: Device, name: str) -> None:
        """The page on `device` now: screenshots, axe-core, HTML, and the phone layout."""
        page = device.page
        await page.wait_for_load_state("load")
        await page.screenshot(path=self._shot(name), full_page=True)
        kind = await page.evaluate("document.contentType")
        if kind != "text/html":
            self._problem(name, f"{page.url} answered {kind}, not an HTML page")
            return
        await self._axe(page, name)
        await page.set_viewport_size(PHONE)
        try:
            layout = await page.evaluate(LAYOUT, PHONE["width"])
            if "width=device-width" not in (layout["viewport"] or "").replace(" ", ""):
                # A phone lays out a page without it at 980 px and shrinks it to fit.
                self._problem(name, f"{page.url} has no viewport meta (width=device-width)")
            self._layout_problems(name, layout, f"the page {page.url}")
            await page.screenshot(
                path=self.folder / f"{self.step:02d}-{name}-375px.png", full_page=True
            )
        finally:
            await page.set_viewport_size(DESKTOP)

    async def email(self, message: EmailMessage, name: str) -> None:
        """An email as a mail client shows its HTML part: on a phone (375 px, which honours the
        viewport meta as phones do) and on a desktop; axe-core on it too."""
        html = _email_html(message)
        if html is None:
            print(f"NOTE {name}: {message['Subject']!r} has no HTML part (text only)")
            return
        phone = await self.browser.new_context(
            viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2
        )
        desktop = await self.browser.new_context(viewport=DESKTOP)
        try:
            page = await phone.new_page()
            await page.set_content(html)
            layout = await page.evaluate(LAYOUT, PHONE["width"])
            what = f"the email {message['Subject']!r}"
            self._layout_problems(name, layout, what, self.email_problems)
            await page.screenshot(path=self._shot(name + "-375px"), full_page=True)
            page = await desktop.new_page()
            await page.set_content(html)
            await page.screenshot(path=self.folder / f"{self.step:02d}-{name}.png", full_page=True)
            await self._axe(page, name, self.email_problems)
        finally:
            await phone.close()
            await desktop.close()

    def assert_clean(self) -> None:
        """No problem on the walk's pages (its emails: `email_problems`)."""
        assert not self.problems, (
            f"{len(self.problems)} problems on the pages of this walk "
            f"(screenshots in {self.folder}):\n" + "\n".join(self.problems)
        )
