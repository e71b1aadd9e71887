"""kill -9 of the notifier mid-send when the operator allows up to 4 duplicates per crash
(NOTIFIER_SMTP_DUPLICATES_PER_CRASH=4, 8 connections): messages go to the server ahead of
their last lines and groups of up to 4 are accepted side by side; after a restart every offer's
email arrives, and no more than 4 are mailed twice."""

from __future__ import annotations

import asyncio
import collections
import uuid

from tests.support import bearer
from tests.support_flows import published_badge
from tests.support_mail import offer_ids_mailed

OFFERS = 600
DUPLICATES = 4
PLATFORM_ENV = {
    "NOTIFIER_SMTP_CONNECTIONS": "8",
    "NOTIFIER_SMTP_DUPLICATES_PER_CRASH": str(DUPLICATES),
}


async def test_a_crash_mails_no_more_twice_than_the_operator_allows(
    http, platform, organiser, infra
):
    badge = await published_badge(http, platform, organiser, "Groups")
    domain = f"groups-{uuid.uuid4().hex[:8]}.example.org"
    answer = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers={**bearer(organiser), "Idempotency-Key": "groups"},
        json={"emails": [f"learner{n}@{domain}" for n in range(OFFERS)]},
    )
    assert answer.status_code == 201 and answer.json()["created"] == OFFERS
    offer_ids = {o["offer_id"] for o in answer.json()["offers"]}

    while len(offer_ids_mailed(infra.mailbox_dir, domain)) < 60:
        await asyncio.sleep(0.02)
    platform.kill("notifier")
    at_kill = len(offer_ids_mailed(infra.mailbox_dir, domain))
    assert at_kill < OFFERS, "every email went before the kill; make the burst larger"
    platform.start("notifier")
    platform.wait_healthy("notifier")

    deadline = asyncio.get_running_loop().time() + 240
    while set(offer_ids_mailed(infra.mailbox_dir, domain)) != offer_ids:
        assert asyncio.get_running_loop().time() < deadline, "not every offer was mailed"
        await asyncio.sleep(0.2)
    await platform.caught_up("notifier", "badge.events")
    counts = collections.Counter(offer_ids_mailed(infra.mailbox_dir, domain))
    duplicates = sum(n - 1 for n in counts.values())
    print(
        f"\nnotifier crash (groups of {DUPLICATES}): killed after {at_kill}/{OFFERS} emails; "
        f"duplicates {duplicates}"
    )
    assert duplicates <= DUPLICATES
    sent = await platform.query(
        "notifier", "SELECT count(*) AS n FROM emails WHERE kind = 'offer' AND status = 'sent'"
    )
    assert sent[0]["n"] >= OFFERS
