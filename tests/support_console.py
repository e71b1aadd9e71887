"""What the console's integration and browser tests share: signing an organiser in over HTTP as
a browser would (the emailed link, its button), keeping the session cookie."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.support import Platform, wait_for
from tests.support_mail import messages_to


def sign_in_links(platform: Platform, address: str) -> list[str]:
    """Every console sign-in link mailed to `address`, oldest first."""
    assert platform.infra.mailbox_dir is not None
    pattern = re.compile(re.escape(platform.url("console")) + r"/sign-in/[A-Za-z0-9_-]+")
    found: list[str] = []
    for message in messages_to(platform.infra.mailbox_dir, address):
        body = message.get_body(("plain",))
        if body is not None:
            found += pattern.findall(str(body.get_content()))
    return found


def form_headers(platform: Platform) -> dict[str, str]:
    """What a browser sends with a form posted from one of the console's own pages."""
    return {"origin": platform.url("console"), "accept": "text/html"}


async def signed_in_console(platform: Platform, email: str) -> httpx.AsyncClient:
    """A browser-like client of the console, signed in as the organiser `email` by the link
    the console mails: its cookie jar holds the session."""
    console = platform.url("console")
    client = httpx.AsyncClient(base_url=console, timeout=30, headers={"accept": "text/html"})
    before = len(sign_in_links(platform, email))
    asked = await client.post(
        "/sign-in", data={"email": email, "next": "/"}, headers=form_headers(platform)
    )
    assert asked.status_code == 202, asked.text

    async def mailed() -> list[str]:
        return sign_in_links(platform, email)[before:]

    [link] = await wait_for(mailed, timeout=60)
    pressed = await client.post(link, headers=form_headers(platform))
    assert pressed.status_code == 303, pressed.text
    assert client.cookies.get("console_session"), "signing in set no session cookie"
    return client


def page_text(answer: httpx.Response) -> str:
    return answer.text if "text/html" in answer.headers.get("content-type", "") else ""


def described(answer: httpx.Response) -> dict[str, Any]:
    """A short account of an answer for an assertion's message."""
    return {
        "status": answer.status_code,
        "type": answer.headers.get("content-type", ""),
        "body": answer.text[:300],
    }
