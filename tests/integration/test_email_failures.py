"""An SMTP server that never answers: each offer's email is retried from the schedule for the
retry period, then recorded as failed where the organiser sees it."""

from __future__ import annotations

import socket

from tests.support import bearer, wait_for
from tests.support_flows import published_badge


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port  # nothing listens here once the socket is closed


PLATFORM_ENV = {
    "NOTIFIER_SMTP_PORT": str(_closed_port()),
    "NOTIFIER_SMTP_RETRY_PERIOD_SECONDS": "2",
    "NOTIFIER_SMTP_BACKOFF_SECONDS": "0.2",
    "NOTIFIER_SMTP_BACKOFF_MAX_SECONDS": "0.4",
    "NOTIFIER_SMTP_OUTAGE_PAUSE_SECONDS": "0",
    "NOTIFIER_RETRY_POLL_SECONDS": "0.1",
    # With SMTP down the notifier runs but is not ready: wait for it to answer at all.
    "WAIT_FOR": "/health/live",
}


async def test_an_email_that_keeps_failing_is_recorded_and_shown_with_the_offer(
    http, platform, organiser
):
    badge = await published_badge(http, platform, organiser, "Unmailable")
    url = f"{platform.url('badge')}/v1/badges/{badge['id']}/offers"
    await http.post(
        url, headers=bearer(organiser), json={"emails": ["x1@example.org", "x2@example.org"]}
    )

    async def failed():
        offers = (await http.get(url, headers=bearer(organiser))).json()
        return offers if all(o["email_status"] == "failed" for o in offers) else None

    offers = await wait_for(failed)
    assert all(o["email_attempts"] >= 3 for o in offers)
    assert all("still failing after" in o["email_detail"] for o in offers)
    assert all("Connect" in o["email_detail"] or "refused" in o["email_detail"] for o in offers)
    events = [
        e for e in await platform.read_topic("notifier.events") if e.event_type == "EmailFailed"
    ]
    assert len(events) == 2


async def test_a_bulk_issue_counts_its_failed_emails_in_its_progress(http, platform, organiser):
    badge = await published_badge(http, platform, organiser, "Unmailable progress")
    answer = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers=bearer(organiser),
        json={"emails": ["y1@example.org", "y2@example.org", "y3@example.org"]},
    )
    progress_url = answer.json()["progress_url"]

    async def settled():
        progress = (await http.get(progress_url, headers=bearer(organiser))).json()
        return progress if progress["done"] else None

    progress = await wait_for(settled)
    assert (progress["offers"], progress["failed"], progress["sent"]) == (3, 3, 0)
