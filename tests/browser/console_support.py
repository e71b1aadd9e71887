"""What the console's browser tests share: signing an organiser in as they do it (the sign-in
page, the emailed link from the mailbox, its Sign in button), with every page on the way
checked by the walk (screenshots, axe-core, the phone layout)."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.inbox import Inbox
from tests.browser.walk import Device, Walk
from tests.support import Platform
from tests.support_mail import messages_to


def console_url(platform: Platform, path: str = "") -> str:
    return platform.url("console") + path


async def sign_in_organiser(
    walk: Walk,
    platform: Platform,
    email: str,
    *,
    device: Device | None = None,
    next_path: str = "/",
    name: str = "console",
) -> Device:
    """A browser (a new one unless `device`) signed in to the console as the organiser with
    `email`, by the link the sign-in page has mailed; it ends on `next_path`."""
    device = device or await walk.new_device()
    page = device.page
    inbox = Inbox(platform.infra.mailbox_dir, email)
    # Only the link asked for now: earlier ones to this address are passed over.
    inbox.read = len(messages_to(platform.infra.mailbox_dir, email))  # type: ignore[arg-type]
    await device.open(console_url(platform, "/sign-in?next=" + next_path))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the console")
    await walk.checkpoint(device, f"{name}-sign-in")
    await page.get_by_label("Email address").fill(email)
    await device.click(page.get_by_role("button", name="Email me a sign-in link"))
    await expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    await walk.checkpoint(device, f"{name}-check-inbox")
    message = await inbox.next(console_url(platform, "/sign-in/"))
    await walk.email(message, f"{name}-sign-in-email")
    await device.follow(message, console_url(platform, "/sign-in/"))
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await walk.checkpoint(device, f"{name}-sign-in-link")
    await device.click(page.get_by_role("button", name="Sign in"))
    assert page.url == console_url(platform, next_path), await device.summary()
    await expect(page.get_by_role("status").filter(has_text="You are signed in.")).to_be_visible()
    return device
