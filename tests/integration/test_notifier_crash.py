"""kill -9 of the notifier during a bulk issue of 1,000 offers: after a restart every offer's
email arrives, and a message is mailed twice only inside the crash window."""

from __future__ import annotations

import asyncio
import collections
import uuid

from tests.support import bearer
from tests.support_flows import published_badge
from tests.support_mail import offer_ids_mailed

OFFERS = 1_000


async def test_notifier_killed_mid_bulk_issue_mails_every_offer(http, platform, organiser, infra):
    badge = await published_badge(http, platform, organiser, "Bulk")
    domain = f"crash-{uuid.uuid4().hex[:8]}.example.org"
    answer = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers={**bearer(organiser), "Idempotency-Key": "bulk"},
        json={"emails": [f"learner{n}@{domain}" for n in range(OFFERS)]},
    )
    assert answer.status_code == 201 and answer.json()["created"] == OFFERS
    offer_ids = {o["offer_id"] for o in answer.json()["offers"]}

    while len(offer_ids_mailed(infra.mailbox_dir, domain)) < 100:
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
    print(f"\nnotifier crash: killed after {at_kill}/{OFFERS} emails; duplicates {duplicates}")
    # One message can be in the window between SMTP acceptance and its record in Kafka.
    assert duplicates <= 1
    sent = await platform.query(
        "notifier", "SELECT count(*) AS n FROM emails WHERE kind = 'offer' AND status = 'sent'"
    )
    assert sent[0]["n"] >= OFFERS
    # The live read models equal a rebuild of the log (issue 14 item 4).
    for service in ("notifier", "badge"):
        assert '"same": true' in platform.run(service, "verify"), service
