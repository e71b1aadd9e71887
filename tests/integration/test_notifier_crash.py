"""kill -9 of the notifier during a bulk issue of 1,000 offers: after a restart every offer's
email arrives, and a message is mailed twice only inside the crash window."""

from __future__ import annotations

from tests.support_flows import notifier_killed_mid_bulk_issue

OFFERS = 1_000


async def test_notifier_killed_mid_bulk_issue_mails_every_offer(http, platform, organiser, infra):
    at_kill, duplicates = await notifier_killed_mid_bulk_issue(
        http, platform, organiser, infra, offers=OFFERS, kill_after=100, name="Bulk"
    )
    print(f"\nnotifier crash: killed after {at_kill}/{OFFERS} emails; duplicates {duplicates}")
    # One message can be in the window between SMTP acceptance and its record in Kafka.
    assert duplicates <= 1
    # The live read models equal a rebuild of the log (issue 14 item 4).
    for service in ("notifier", "badge"):
        assert '"same": true' in platform.run(service, "verify"), service
