"""What the integration and end-to-end tests do on the platform as organisers and learners do
it, through HTTP and the emails: publish a badge, give it evidence tasks, issue it, start a
quest, claim by email, and run the official validator on an Assertion."""

from __future__ import annotations

import asyncio
import collections
import os
import subprocess
import uuid
from pathlib import Path

import httpx

from tests.infrastructure import REPO
from tests.support import badge_of, bearer
from tests.support_mail import claim_link, offer_ids_mailed, wait_for_messages

JSON = {"Accept": "application/json"}
# The official validator; beside the repository unless OB_VERIFY says where (.ci/run does).
OB_VERIFY = Path(os.environ.get("OB_VERIFY") or REPO.parent / "shared" / "tools" / "ob-verify")


def ob_verify(url: str, email: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [str(OB_VERIFY), url] + ([email] if email else [])
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def unique_email(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:8]}@example.org"


async def published_badge(http: httpx.AsyncClient, platform, who, title: str) -> dict:
    activity = (
        await http.post(
            f"{platform.url('activity')}/v1/activities",
            headers=bearer(who),
            json={"title": title, "description": f"About {title}", "criteria": f"Do {title}"},
        )
    ).json()
    await http.post(
        f"{platform.url('activity')}/v1/activities/{activity['id']}/publish", headers=bearer(who)
    )

    return await badge_of(http, platform, who, activity["id"])


async def playlist_badge(http, platform, organiser, title: str):
    """Two published activities in a published playlist: the activities' badges, the
    playlist's badge."""
    activities = [await published_badge(http, platform, organiser, f"{title} {n}") for n in (1, 2)]
    playlist = (
        await http.post(
            f"{platform.url('activity')}/v1/playlists",
            headers=bearer(organiser),
            json={"title": title, "activity_ids": [a["source_id"] for a in activities]},
        )
    ).json()
    await http.post(
        f"{platform.url('activity')}/v1/playlists/{playlist['id']}/publish",
        headers=bearer(organiser),
    )
    return activities, await badge_of(http, platform, organiser, playlist["id"])


async def claim_by_email(http, platform, organiser, infra, badge, learner) -> dict:
    """Issue the badge to the learner and accept it from the email's link."""
    await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers=bearer(organiser),
        json={"email": learner},
    )
    [message] = wait_for_messages(infra.mailbox_dir, learner, subject=badge["name"])
    answer = await http.post(claim_link(message), headers=JSON)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def evidence_badge(http, platform, organiser, title, mode, tasks, **settings) -> dict:
    badge = await published_badge(http, platform, organiser, title)
    answer = await http.patch(
        f"{platform.url('badge')}/v1/badges/{badge['id']}",
        headers=bearer(organiser),
        json={"evidence_mode": mode, "tasks": tasks, **settings},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


class SignedIn:
    """A learner's own browser: it keeps the quest's session cookie."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def __aenter__(self) -> httpx.AsyncClient:
        return self.client

    async def __aexit__(self, *_: object) -> None:
        await self.client.aclose()


async def quest_start_url(platform, organiser, infra, http, badge, learner) -> str:
    """Issue to the learner; the quest-start address behind their email's claim link, once
    the evidence service has read the offer (until then the link answers 503)."""
    await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers=bearer(organiser),
        json={"email": learner},
    )
    # The learner may be an invited reviewer too: that email comes first.
    offer = wait_for_messages(infra.mailbox_dir, learner, subject="has a badge for you")[0]
    claim = (await http.get(claim_link(offer), headers=JSON)).json()
    assert claim["status_name"] == "evidence_required", claim
    # The claim page is the badge service's; the evidence service reads the offer from the
    # same event at its own pace.
    await platform.caught_up("evidence", "badge.events")
    url: str = claim["quest_url"]
    return url


async def start_quest(platform, organiser, infra, http, badge, learner) -> tuple[SignedIn, dict]:
    """Issue to the learner, follow the email's link to the quest; a client signed in as them."""
    start = await quest_start_url(platform, organiser, infra, http, badge, learner)
    client = httpx.AsyncClient(timeout=30)
    started = await client.post(start, headers=JSON)
    assert started.status_code == 200, started.text
    quest_url = started.json()["quest_url"]
    quest = (await client.get(quest_url, headers=JSON)).json()
    return SignedIn(client), {"url": quest_url, **quest}


async def notifier_killed_mid_bulk_issue(
    http, platform, organiser, infra, *, offers: int, kill_after: int, name: str
) -> tuple[int, int]:
    """A bulk issue of `offers`, the notifier `kill -9`ed once `kill_after` emails arrived and
    started again: waits until every offer is mailed, the notifier has caught up and counts
    each as sent. Gives the emails mailed at the kill and how many were mailed twice."""
    badge = await published_badge(http, platform, organiser, name)
    domain = f"{name.lower()}-{uuid.uuid4().hex[:8]}.example.org"
    answer = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers={**bearer(organiser), "Idempotency-Key": name.lower()},
        json={"emails": [f"learner{n}@{domain}" for n in range(offers)]},
    )
    assert answer.status_code == 201 and answer.json()["created"] == offers
    offer_ids = {o["offer_id"] for o in answer.json()["offers"]}

    while len(offer_ids_mailed(infra.mailbox_dir, domain)) < kill_after:
        await asyncio.sleep(0.02)
    platform.kill("notifier")
    at_kill = len(offer_ids_mailed(infra.mailbox_dir, domain))
    assert at_kill < offers, "every email went before the kill; make the burst larger"
    platform.start("notifier")
    platform.wait_healthy("notifier")

    deadline = asyncio.get_running_loop().time() + 240
    while set(offer_ids_mailed(infra.mailbox_dir, domain)) != offer_ids:
        assert asyncio.get_running_loop().time() < deadline, "not every offer was mailed"
        await asyncio.sleep(0.2)
    await platform.caught_up("notifier", "badge.events")
    sent = await platform.query(
        "notifier", "SELECT count(*) AS n FROM emails WHERE kind = 'offer' AND status = 'sent'"
    )
    assert sent[0]["n"] >= offers
    counts = collections.Counter(offer_ids_mailed(infra.mailbox_dir, domain))
    return at_kill, sum(n - 1 for n in counts.values())
