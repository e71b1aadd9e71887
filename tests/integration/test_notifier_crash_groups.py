"""kill -9 of the notifier mid-send when the operator allows up to 4 duplicates per crash
(NOTIFIER_SMTP_DUPLICATES_PER_CRASH=4, 8 connections): messages go to the server ahead of
their last lines and groups of up to 4 are accepted side by side; after a restart every offer's
email arrives, and no more than 4 are mailed twice."""

from __future__ import annotations

from tests.support_flows import notifier_killed_mid_bulk_issue

OFFERS = 600
DUPLICATES = 4
PLATFORM_ENV = {
    "NOTIFIER_SMTP_CONNECTIONS": "8",
    "NOTIFIER_SMTP_DUPLICATES_PER_CRASH": str(DUPLICATES),
}


async def test_a_crash_mails_no_more_twice_than_the_operator_allows(
    http, platform, organiser, infra
):
    at_kill, duplicates = await notifier_killed_mid_bulk_issue(
        http, platform, organiser, infra, offers=OFFERS, kill_after=60, name="Groups"
    )
    print(
        f"\nnotifier crash (groups of {DUPLICATES}): killed after {at_kill}/{OFFERS} emails; "
        f"duplicates {duplicates}"
    )
    assert duplicates <= DUPLICATES
