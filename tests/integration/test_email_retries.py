"""Email through an SMTP server the test controls (an aiosmtpd server in this process that
refuses chosen recipients with 4xx or 5xx): a failing email waits in the retry schedule while
the others go, is sent once the server takes it, is given up after the retry period, and can be
resent by the organiser (API) or the operator (`resend-failed`); a rebuild gives the same
schedule."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from services.local_runner import free_port
from tests.support import bearer, envelopes_of, wait_for
from tests.support_flows import published_badge

SMTP_PORT = free_port()
RETRY_PERIOD = 8.0

PLATFORM_ENV = {
    "NOTIFIER_SMTP_HOST": "127.0.0.1",
    "NOTIFIER_SMTP_PORT": str(SMTP_PORT),
    "NOTIFIER_SMTP_BACKOFF_SECONDS": "0.3",
    "NOTIFIER_SMTP_BACKOFF_MAX_SECONDS": "1",
    "NOTIFIER_SMTP_RETRY_PERIOD_SECONDS": str(RETRY_PERIOD),
    "NOTIFIER_SMTP_OUTAGE_PAUSE_SECONDS": "0",
    "NOTIFIER_RETRY_POLL_SECONDS": "0.1",
}


class ControlledServer:
    """Accepts every message, except for the recipients (or, in an outage, everyone) it is
    told to refuse with a given SMTP code."""

    def __init__(self) -> None:
        self.refusing: dict[str, int] = {}
        self.outage: int | None = None
        self.received: list[tuple[list[str], bytes, float]] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        code = self.outage or self.refusing.get(address.lower())
        if code is not None:
            return f"{code} {'try again later' if code < 500 else 'no such mailbox'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        recipients = [r.lower() for r in envelope.rcpt_tos]
        self.received.append((recipients, envelope.content, time.time()))
        return "250 OK"

    def messages_to(self, recipient: str) -> list[EmailMessage]:
        found = []
        for recipients, content, _ in list(self.received):
            if recipient.lower() in recipients:
                message = email.message_from_bytes(content, policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                found.append(message)
        return found

    def arrival(self, recipient: str) -> float | None:
        times = [at for recipients, _, at in list(self.received) if recipient.lower() in recipients]
        return min(times) if times else None


# Autouse: it starts before the platform, whose notifier is ready only once SMTP answers.
@pytest.fixture(scope="module", autouse=True)
def smtp() -> Iterator[ControlledServer]:
    server = ControlledServer()
    controller = Controller(server, hostname="127.0.0.1", port=SMTP_PORT)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


def _domain() -> str:
    return f"retry-{uuid.uuid4().hex[:8]}.example.org"


async def _offer(
    http: Any, platform: Any, organiser: Any, badge: dict[str, Any], emails: list[str]
) -> dict[str, str]:
    answer = await http.post(
        f"{platform.url('badge')}/v1/badges/{badge['id']}/offers",
        headers=bearer(organiser),
        json={"emails": emails},
    )
    assert answer.status_code == 201, answer.text
    return {o["email"]: o["offer_id"] for o in answer.json()["offers"]}


async def _offers(http: Any, platform: Any, organiser: Any, badge: dict[str, Any]):
    url = f"{platform.url('badge')}/v1/badges/{badge['id']}/offers"
    return {o["offer_id"]: o for o in (await http.get(url, headers=bearer(organiser))).json()}


async def _notifier_events(platform: Any, event_type: str, offer_id: str) -> list[Any]:
    events = envelopes_of(await platform.read_topic("notifier.events"), event_type)
    return [e for e in events if str(e.payload.offer_id) == offer_id]


async def test_a_refused_recipient_waits_in_the_schedule_while_the_others_are_mailed(
    http, platform, organiser, smtp
):
    badge = await published_badge(http, platform, organiser, "Retry schedule")
    domain = _domain()
    stuck = f"stuck@{domain}"
    others = [f"learner{n}@{domain}" for n in range(4)]
    smtp.refusing[stuck] = 451
    asked = time.time()
    offers = await _offer(http, platform, organiser, badge, [stuck, *others])

    # The others arrive at once, though the first email of the batch keeps being refused.
    await wait_for(lambda: _all_arrived(smtp, others), timeout=20)
    slowest = max(smtp.arrival(o) or 0 for o in others) - asked
    print(f"\nwith one recipient refused: the other 4 mailed within {slowest:.2f}s")
    assert slowest < 10, f"the other emails waited {slowest:.1f}s behind the refused one"
    assert smtp.messages_to(stuck) == []

    async def deferred() -> list[Any]:
        found = await _notifier_events(platform, "EmailDeferred", offers[stuck])
        return found if len(found) >= 2 else []

    deferrals = await wait_for(deferred, timeout=20)
    assert [d.payload.attempt for d in deferrals[:2]] == [1, 2]
    assert "451" in deferrals[0].payload.reason
    assert deferrals[0].payload.next_attempt_at > deferrals[0].occurred_at
    shown = (await _offers(http, platform, organiser, badge))[offers[stuck]]
    assert shown["email_status"] in ("retrying", "pending") and shown["email_attempts"] >= 1

    # The outage ends: a retry from the schedule mails it, once.
    del smtp.refusing[stuck]
    await wait_for(lambda: _all_arrived(smtp, [stuck]), timeout=20)

    async def sent() -> list[Any]:
        return await _notifier_events(platform, "EmailSent", offers[stuck])

    [record] = await wait_for(sent, timeout=20)
    assert record.payload.attempts >= 2
    await asyncio.sleep(1)
    assert len(smtp.messages_to(stuck)) == 1

    async def shown_sent() -> bool:
        return (await _offers(http, platform, organiser, badge))[offers[stuck]][
            "email_status"
        ] == "sent"

    await wait_for(shown_sent, timeout=20)


async def _all_arrived(smtp: ControlledServer, recipients: list[str]) -> bool:
    return all(smtp.messages_to(r) for r in recipients)


async def test_emails_asked_for_during_an_outage_are_all_sent_after_it(
    http, platform, organiser, smtp
):
    badge = await published_badge(http, platform, organiser, "Outage")
    domain = _domain()
    learners = [f"learner{n}@{domain}" for n in range(3)]
    smtp.outage = 421
    try:
        offers = await _offer(http, platform, organiser, badge, learners)

        async def every_one_deferred() -> bool:
            events = envelopes_of(await platform.read_topic("notifier.events"), "EmailDeferred")
            waiting = {str(e.payload.offer_id) for e in events}
            return set(offers.values()) <= waiting

        started = time.monotonic()
        await wait_for(every_one_deferred, timeout=20)
        assert time.monotonic() - started < 10
    finally:
        smtp.outage = None
    await wait_for(lambda: _all_arrived(smtp, learners), timeout=20)


async def test_a_permanent_refusal_fails_at_once(http, platform, organiser, smtp):
    badge = await published_badge(http, platform, organiser, "Refused")
    nobody = f"nobody@{_domain()}"
    smtp.refusing[nobody] = 550
    offers = await _offer(http, platform, organiser, badge, [nobody])

    async def failed() -> list[Any]:
        return await _notifier_events(platform, "EmailFailed", offers[nobody])

    [record] = await wait_for(failed, timeout=20)
    assert record.payload.attempts == 1 and "550" in record.payload.reason
    assert await _notifier_events(platform, "EmailDeferred", offers[nobody]) == []


async def test_an_email_still_refused_after_the_retry_period_fails_and_the_organiser_resends_it(
    http, platform, organiser, other_organiser, smtp
):
    badge = await published_badge(http, platform, organiser, "Given up")
    gone = f"gone@{_domain()}"
    smtp.refusing[gone] = 451
    offers = await _offer(http, platform, organiser, badge, [gone])
    offer_id = offers[gone]

    async def failed() -> bool:
        return (await _offers(http, platform, organiser, badge))[offer_id][
            "email_status"
        ] == "failed"

    started = time.monotonic()
    await wait_for(failed, timeout=RETRY_PERIOD + 20)
    took = time.monotonic() - started
    shown = (await _offers(http, platform, organiser, badge))[offer_id]
    assert shown["email_attempts"] >= 3, shown
    assert "still failing after" in shown["email_detail"]
    assert took >= RETRY_PERIOD - 1, f"given up after {took:.1f}s, before the retry period"
    [record] = await _notifier_events(platform, "EmailFailed", offer_id)
    assert record.payload.attempts == shown["email_attempts"]

    resend = f"{platform.url('badge')}/v1/offers/{offer_id}/resend"
    assert (await http.post(resend)).status_code == 401
    assert (await http.post(resend, headers=bearer(other_organiser))).status_code == 403
    missing = f"{platform.url('badge')}/v1/offers/{uuid.uuid4()}/resend"
    assert (await http.post(missing, headers=bearer(organiser))).status_code == 404

    del smtp.refusing[gone]
    answer = await http.post(resend, headers=bearer(organiser))
    assert answer.status_code == 202, answer.text
    assert answer.json()["email_status"] == "resending"
    again = await http.post(resend, headers=bearer(organiser))
    assert again.status_code == 409, again.text

    await wait_for(lambda: _all_arrived(smtp, [gone]), timeout=20)
    [message] = smtp.messages_to(gone)
    assert message["X-Badge-Offer"] == offer_id

    async def sent() -> bool:
        return (await _offers(http, platform, organiser, badge))[offer_id]["email_status"] == "sent"

    await wait_for(sent, timeout=20)
    requests = envelopes_of(await platform.read_topic("badge.events"), "OfferResendRequested")
    assert [str(r.payload.offer_id) for r in requests].count(offer_id) == 1
    assert (await http.post(resend, headers=bearer(organiser))).status_code == 409


async def test_the_operator_resends_everything_failed_in_a_window(http, platform, organiser, smtp):
    badge = await published_badge(http, platform, organiser, "Operator resend")
    domain = _domain()
    learners = [f"lost{n}@{domain}" for n in range(2)]
    since = datetime.now(UTC)
    for learner in learners:
        smtp.refusing[learner] = 554
    offers = await _offer(http, platform, organiser, badge, learners)

    async def all_failed() -> bool:
        shown = await _offers(http, platform, organiser, badge)
        return all(shown[o]["email_status"] == "failed" for o in offers.values())

    await wait_for(all_failed, timeout=20)
    for learner in learners:
        del smtp.refusing[learner]

    bad = await asyncio.to_thread(_run_failing, platform, "resend-failed", "--since", "yesterday")
    assert "ISO 8601" in bad

    command = ["resend-failed", "--since", since.isoformat()]
    dry = json.loads(await asyncio.to_thread(platform.run, "notifier", *[*command, "--dry-run"]))
    assert dry["resent"] == 2 and dry["dry_run"] is True
    assert smtp.messages_to(learners[0]) == []
    done = json.loads(await asyncio.to_thread(platform.run, "notifier", *command))
    assert done["resent"] == 2
    assert {e["recipient"] for e in done["emails"]} == set(learners)

    await wait_for(lambda: _all_arrived(smtp, learners), timeout=20)
    await wait_for(lambda: _offers_sent(http, platform, organiser, badge, offers), timeout=20)
    # Run again: nothing failed is left unsent in the window.
    again = json.loads(await asyncio.to_thread(platform.run, "notifier", *command))
    assert again["resent"] == 0
    await asyncio.sleep(1)
    assert all(len(smtp.messages_to(learner)) == 1 for learner in learners)


async def _offers_sent(http: Any, platform: Any, organiser: Any, badge: Any, offers: Any) -> bool:
    shown = await _offers(http, platform, organiser, badge)
    return all(shown[o]["email_status"] == "sent" for o in offers.values())


def _run_failing(platform: Any, *args: str) -> str:
    try:
        platform.run("notifier", *args)
    except RuntimeError as error:
        return str(error)
    raise AssertionError("the command did not refuse its arguments")


async def test_a_rebuild_gives_the_same_retry_schedule(http, platform, organiser, smtp):
    badge = await published_badge(http, platform, organiser, "Rebuilt schedule")
    waiting = f"waiting@{_domain()}"
    smtp.refusing[waiting] = 452
    offers = await _offer(http, platform, organiser, badge, [waiting])

    async def deferred() -> list[Any]:
        return await _notifier_events(platform, "EmailDeferred", offers[waiting])

    await wait_for(deferred, timeout=20)
    platform.stop("notifier")
    try:
        schedule = "SELECT * FROM email_retries ORDER BY email_id"
        before = [dict(r) for r in await platform.query("notifier", schedule)]
        assert [r["recipient"] for r in before] == [waiting]
        checksum = await asyncio.to_thread(platform.run, "notifier", "checksum")
        rebuilt = json.loads(await asyncio.to_thread(platform.run, "notifier", "rebuild"))
        after = [dict(r) for r in await platform.query("notifier", schedule)]
        assert after == before
        assert rebuilt["checksum"] == checksum
    finally:
        del smtp.refusing[waiting]
        platform.start("notifier")
        platform.wait_healthy("notifier")
    await wait_for(lambda: _all_arrived(smtp, [waiting]), timeout=30)
