"""Walks the platform's flow against a running platform and prints each step as a JSON line:
an organiser drafts and publishes an activity, its badge appears, and the Open Badges
documents a verifier would fetch are served."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent


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
        answer.raise_for_status()
        if badges := answer.json():
            found: dict[str, Any] = badges[0]
            return found
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no badge for activity {activity_id} after 30s")


async def walk(activity_url: str, badge_url: str, key: str) -> int:
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
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--activity-url", default=os.environ.get("ACTIVITY_URL", "http://127.0.0.1:8001")
    )
    parser.add_argument("--badge-url", default=os.environ.get("BADGE_URL", "http://127.0.0.1:8002"))
    parser.add_argument(
        "--key-file",
        type=Path,
        default=Path(os.environ.get("RUN_DIR", REPO / ".run")) / "demo-organiser.json",
        help="JSON with the organiser's api_key, as written by deploy/local/up.sh",
    )
    args = parser.parse_args(argv)
    key = os.environ.get("DEMO_API_KEY") or json.loads(args.key_file.read_text())["api_key"]
    return asyncio.run(walk(args.activity_url, args.badge_url, key))


if __name__ == "__main__":
    sys.exit(main())
