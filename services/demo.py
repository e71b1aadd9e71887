"""Walks the platform's flow against a running platform and prints each step as a JSON line:
an organiser drafts and publishes an activity, its badge appears, the organiser issues it to
three email addresses, the demo reads those emails from the SMTP server's mailbox, follows each
claim link and accepts, and prints every Assertion URL with its recipient's email. Last, it
says (on stderr, beside the JSON lines) where to sign in to the organiser console to see it."""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import json
import os
import re
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

REPO = Path(__file__).resolve().parent.parent
CLAIM_LINK = re.compile(r"https?://\S+/claim/[A-Za-z0-9_-]+")


def say(step: str, **details: Any) -> None:
    print(json.dumps({"step": step, **details}, default=str), flush=True)


async def wait_for_badge(
    client: httpx.AsyncClient, badge_url: str, key: str, activity_id: str
) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = await client.get(
            f"{badge_url}/v1/badges",
            params={"source_id": activity_id},
            headers={"Authorization": f"Bearer {key}"},
        )
        if answer.status_code == 401:  # a new organiser's key is still on its way there
            await asyncio.sleep(0.05)
            continue
        answer.raise_for_status()
        if badges := answer.json():
            found: dict[str, Any] = badges[0]
            return found
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no badge for activity {activity_id} after 30s")


async def walk(activity_url: str, badge_url: str, mailbox_url: str, key: str) -> str:
    """The flow, as JSON lines; answers the organiser's email address."""
    auth = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=30) as client:
        me = (await client.get(f"{activity_url}/v1/me", headers=auth)).raise_for_status().json()
        say(
            "organiser", organisation=me["organisation"]["name"], organiser=me["organiser"]["email"]
        )
        activity = (
            (
                await client.post(
                    f"{activity_url}/v1/activities",
                    headers=auth,
                    json={
                        "title": "Urban gardening workshop",
                        "description": "Grow vegetables on a city balcony, from seed to harvest.",
                        "criteria": "Plant three kinds of seed and keep a one-week growing diary.",
                    },
                )
            )
            .raise_for_status()
            .json()
        )
        say("activity drafted", activity_id=activity["id"], status=activity["status"])
        started = time.monotonic()
        activity = (
            (
                await client.post(
                    f"{activity_url}/v1/activities/{activity['id']}/publish", headers=auth
                )
            )
            .raise_for_status()
            .json()
        )
        say("activity published", activity_id=activity["id"], status=activity["status"])
        badge = await wait_for_badge(client, badge_url, key, activity["id"])
        say(
            "badge created",
            badge_class_id=badge["id"],
            name=badge["name"],
            description=badge["description"],
            milliseconds=round((time.monotonic() - started) * 1000, 1),
        )
        document = (await client.get(badge["open_badges_url"])).raise_for_status().json()
        say("open badges BadgeClass", url=badge["open_badges_url"], document=document)
        issuer = (await client.get(document["issuer"])).raise_for_status().json()
        say("open badges Issuer", url=document["issuer"], document=issuer)
        image = (await client.get(document["image"])).raise_for_status()
        say(
            "badge image",
            url=document["image"],
            media_type=image.headers["content-type"],
            bytes=len(image.content),
        )
        await issue_and_claim(client, badge_url, mailbox_url, auth, badge)
    organiser_email = str(me["organiser"]["email"])
    return organiser_email


async def issue_and_claim(
    client: httpx.AsyncClient,
    badge_url: str,
    mailbox_url: str,
    auth: dict[str, str],
    badge: dict[str, Any],
) -> None:
    run = uuid.uuid4().hex[:6]
    learners = [f"{name}.{run}@learners.example.org" for name in ("ana", "ben", "chloe")]
    issued = (
        (
            await client.post(
                f"{badge_url}/v1/badges/{badge['id']}/offers",
                headers={**auth, "Idempotency-Key": f"demo-{run}"},
                json={"emails": learners},
            )
        )
        .raise_for_status()
        .json()
    )
    say("issued to emails", created=issued["created"], emails=learners)
    for learner in learners:
        link = await claim_link_from_mailbox(client, mailbox_url, learner)
        say("claim email received", email=learner, claim_link=link)
        accepted = await client.post(link, headers={"Accept": "application/json"})
        accepted.raise_for_status()
        outcome = accepted.json()
        say(
            "badge claimed",
            email=learner,
            assertion_url=outcome["assertion_url"],
            badge_page=outcome["badge_page"],
        )


async def claim_link_from_mailbox(
    client: httpx.AsyncClient, mailbox_url: str, recipient: str
) -> str:
    """Reads the mailbox of the local SMTP server until the claim email for `recipient` is in."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listing = (await client.get(f"{mailbox_url}/api/messages")).raise_for_status().json()
        for entry in listing:
            if recipient in entry["to"] and "has a badge for you" in entry["subject"]:
                raw = (await client.get(f"{mailbox_url}/api/messages/{entry['id']}")).content
                message = email.message_from_bytes(raw, policy=email.policy.default)
                text = message.get_body(("plain",))
                found = CLAIM_LINK.search(text.get_content()) if text is not None else None
                if found:
                    return found.group(0)
        await asyncio.sleep(0.2)
    raise TimeoutError(f"no claim email for {recipient} in {mailbox_url} after 60s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--activity-url", default=os.environ.get("ACTIVITY_URL", "http://127.0.0.1:8001")
    )
    parser.add_argument("--badge-url", default=os.environ.get("BADGE_URL", "http://127.0.0.1:8002"))
    parser.add_argument(
        "--console-url", default=os.environ.get("CONSOLE_URL", "http://127.0.0.1:8005")
    )
    parser.add_argument(
        "--mailbox-url",
        default=os.environ.get("MAILBOX_URL", "http://127.0.0.1:8025"),
        help="the local SMTP server's mailbox (deploy/local/mailbox.py)",
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        default=Path(os.environ.get("RUN_DIR", REPO / ".run")) / "demo-organiser.json",
        help="JSON with the organiser's api_key, as written by deploy/local/up.sh",
    )
    args = parser.parse_args(argv)
    key = os.environ.get("DEMO_API_KEY") or json.loads(args.key_file.read_text())["api_key"]
    organiser = asyncio.run(walk(args.activity_url, args.badge_url, args.mailbox_url, key))
    sign_in = f"{args.console_url.rstrip('/')}/sign-in?{urlencode({'email': organiser})}"
    print(
        f"\nSee it in the organiser console: sign in as {organiser} at\n  {sign_in}\n"
        f"(the one-time link it emails arrives in the mailbox, {args.mailbox_url})",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
