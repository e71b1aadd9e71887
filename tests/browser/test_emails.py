"""Every kind of email the platform sends, rendered from the mailbox in Chromium as a mail
client shows its HTML part: it lays out at a 375 px phone's width without scrolling sideways,
and axe-core finds nothing serious or critical. The mails are caused over HTTP (the walks in
test_claims and test_quests follow them in the browser)."""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage

import httpx

from tests.browser.inbox import Inbox
from tests.browser.organiser import Organiser
from tests.support_mail import plain_body

JSON = {"Accept": "application/json"}


def first_link(message: EmailMessage, *into: str) -> str:
    """The first link in the email's text part into one of the addresses `into`."""
    pattern = "|".join(re.escape(prefix) for prefix in into)
    found = re.search(rf"(?:{pattern})\S*", plain_body(message))
    assert found, f"no link to {into} in {message['Subject']!r}"
    return found.group(0)


async def test_every_email_reads_on_a_phone(http, platform, organiser, infra, walk):
    ana = Organiser(http, platform, organiser)
    badges, evidence = platform.url("badge"), platform.url("evidence")
    run = uuid.uuid4().hex[:8]
    learner, peer = f"mails.{run}@example.org", f"mails.peer.{run}@example.org"
    inbox, peer_inbox = Inbox(infra.mailbox_dir, learner), Inbox(infra.mailbox_dir, peer)
    mails = []

    plain = await ana.badge("Email layout")
    await ana.issue(plain, learner)
    offer = await inbox.next(f"{badges}/claim/")
    mails.append(("offer-email", offer))
    accepted = await http.post(first_link(offer, f"{badges}/claim/"), headers=JSON)
    assert accepted.status_code == 200, accepted.text
    mails.append(("award-email", await inbox.next(f"{badges}/badges/")))

    quest_badge = await ana.badge(
        "Email layout quest",
        evidence_mode="peer",
        tasks=[{"title": "Your story", "kind": "text"}],
    )
    await ana.invite_peers(quest_badge, [peer])
    await ana.issue(quest_badge, learner)
    quest_offer = await inbox.next(f"{badges}/claim/", f"{evidence}/quests/start/")
    mails.append(("quest-offer-email", quest_offer))
    start = first_link(quest_offer, f"{badges}/claim/", f"{evidence}/quests/start/")
    if "/claim/" in start:
        claim = (await http.get(start, headers=JSON)).json()
        assert "quest_url" in claim, claim
        start = claim["quest_url"]
    await platform.caught_up("evidence", "badge.events")  # the offer, read at its own pace
    async with httpx.AsyncClient(timeout=30) as learner_browser:
        started = await learner_browser.post(start, headers=JSON)
        assert started.status_code == 200, started.text
        quest_url = started.json()["quest_url"]
        quest = (await learner_browser.get(quest_url, headers=JSON)).json()
        submitted = await learner_browser.post(
            f"{quest_url}/tasks/{quest['tasks'][0]['task_id']}",
            data={"text": "Once upon a time."},
            headers=JSON,
        )
        assert submitted.status_code == 201, submitted.text
    asked = await peer_inbox.next(f"{evidence}/reviews/")
    mails.append(("review-request-email", asked))
    voted = await http.post(
        first_link(asked, f"{evidence}/reviews/"),
        data={"verdict": "reject", "feedback": "Tell us how it ends."},
        headers=JSON,
    )
    assert voted.status_code == 200, voted.text
    mails.append(("returned-email", await inbox.next(evidence)))
    signed = await http.post(f"{evidence}/sign-in", data={"email": learner}, headers=JSON)
    assert signed.status_code == 202, signed.text
    mails.append(("sign-in-email", await inbox.next(f"{evidence}/")))

    for name, message in mails:
        await walk.email(message, name)
    assert not walk.email_problems, (
        f"{len(walk.email_problems)} problems in the emails (screenshots in {walk.folder}):\n"
        + "\n".join(walk.email_problems)
    )
