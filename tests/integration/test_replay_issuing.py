"""After issuing, claiming, revoking and mailing, rebuilding the badge and notifier services
from Kafka reproduces their checksums, appends nothing and mails nobody again."""

from __future__ import annotations

import json
import uuid

from contracts.services import SERVICES
from tests.support import bearer
from tests.support_flows import published_badge
from tests.support_mail import claim_link, offer_ids_mailed, wait_for_messages


async def test_rebuild_after_issuing_reproduces_state_and_sends_no_email(
    http, platform, organiser, infra
):
    domain = f"replay-{uuid.uuid4().hex[:8]}.example.org"
    badges = [await published_badge(http, platform, organiser, f"Replay {n}") for n in range(3)]
    await http.patch(
        f"{platform.url('badge')}/v1/badges/{badges[0]['id']}",
        headers=bearer(organiser),
        json={"expires_after_days": 365, "description": "Edited before issuing"},
    )
    for n, badge in enumerate(badges):
        answer = await http.post(
            f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
            headers=bearer(organiser),
            json={"emails": [f"b{n}.learner{i}@{domain}" for i in range(20)]},
        )
        assert answer.status_code == 201
    claimed = []
    for i in range(8):
        learner = f"b0.learner{i}@{domain}"
        link = claim_link(wait_for_messages(infra.mailbox_dir, learner)[0])
        outcome = (await http.post(link, headers={"Accept": "application/json"})).json()
        claimed.append(outcome["assertion_id"])
        await http.post(link, headers={"Accept": "application/json"})  # a second click
    for assertion_id in claimed[:2]:
        await http.post(
            f"{platform.url('badge')}/v1/assertions/{assertion_id}/revoke",
            headers=bearer(organiser),
            json={"reason": "Replay test"},
        )
    wait_for_messages(infra.mailbox_dir, f"b0.learner7@{domain}", subject="Your badge")
    for service, topic in [
        ("notifier", "badge.events"),
        ("badge", "notifier.events"),
        ("badge", "badge.events"),
        ("notifier", "notifier.events"),
    ]:
        await platform.caught_up(service, topic)

    platform.stop_all()
    mailed_before = len(offer_ids_mailed(infra.mailbox_dir, domain))
    before = {service: platform.run(service, "checksum") for service in SERVICES}
    tables_before = platform.run_lines("badge", "checksum", "--tables")[0]
    offsets = {t: await platform.end_offsets(t) for t in ("badge.events", "notifier.events")}
    rows = await platform.query("badge", "SELECT count(*) AS n FROM assertions")
    assert rows[0]["n"] == 8

    await platform.drop_schemas()
    reports = {service: json.loads(platform.run(service, "rebuild")) for service in SERVICES}
    after = {service: platform.run(service, "checksum") for service in SERVICES}
    tables_after = platform.run_lines("badge", "checksum", "--tables")[0]
    assert tables_after == tables_before
    assert after == before, reports
    for topic, ends in offsets.items():
        assert await platform.end_offsets(topic) == ends, f"the rebuild appended to {topic}"
    assert len(offer_ids_mailed(infra.mailbox_dir, domain)) == mailed_before
    revoked = await platform.query("badge", "SELECT count(*) AS n FROM assertions WHERE revoked")
    assert revoked[0]["n"] == 2
    platform.start_all()
