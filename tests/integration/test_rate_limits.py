"""Routes that send email are rate-limited per recipient address, per client and per link, with
429 and Retry-After, in PostgreSQL so the limits hold across a restart: hammering the real
routes sends only as many emails as the limits allow (counted in the real mailbox)."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from services.kernel.rate_limits import address_key
from tests.support import bearer
from tests.support_flows import evidence_badge, published_badge, start_quest
from tests.support_mail import messages_to, offer_ids_mailed

# 127.0.0.1 is the proxy here, so each test can be its own client through X-Forwarded-For.
# The per-link limit is lowered so a test of it mails two dozen people, not a hundred.
PLATFORM_ENV = {"RATE_LIMIT_TRUSTED_PROXIES": "127.0.0.1", "RATE_LIMIT_PER_LINK": "25"}
HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}


def _client(n: int | None = None) -> str:
    return f"198.51.100.{n if n is not None else uuid.uuid4().int % 250 + 1}"


async def _open_link(http: httpx.AsyncClient, platform, organiser, title: str) -> str:
    badge = await published_badge(http, platform, organiser, title)
    base = f"{platform.url('badge')}/v1/badges/{badge['id']}"
    edited = await http.patch(
        base, headers=bearer(organiser), json={"open_link": {"enabled": True}}
    )
    assert edited.status_code == 200, edited.text
    url: str = (await http.get(f"{base}/open-link", headers=bearer(organiser))).json()["url"]
    return url


def _settled(count_mail, expected: int) -> int:
    """The mail count once it has stopped growing (the notifier mails asynchronously)."""
    deadline = time.monotonic() + 30
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = count_mail()
        if now != last:
            last, stable_since = now, time.monotonic()
        elif now >= expected and time.monotonic() - stable_since > 3:
            break
        time.sleep(0.2)
    return last


def test_the_limit_key_folds_case_spaces_and_plus_tags():
    assert address_key("  Ana+Promo@Example.ORG ") == "ana@example.org"
    assert address_key("ana+1+2@example.org") == address_key("ana@example.org")


async def test_sign_in_mails_one_address_three_times_in_ten_minutes(
    http, platform, organiser, infra
):
    badge = await evidence_badge(
        http, platform, organiser, "Sign-in limit", "self", [{"title": "Notes", "kind": "text"}]
    )
    learner = f"signin.{uuid.uuid4().hex[:8]}@example.org"
    signed_in, _ = await start_quest(platform, organiser, infra, http, badge, learner)
    await signed_in.client.aclose()
    client = _client()

    async def ask(n: int) -> httpx.Response:
        email = learner if n % 2 else f"  {learner.upper()} "
        return await http.post(
            f"{platform.url('evidence')}/sign-in",
            data={"email": email},
            headers={**(JSON if n % 3 else HTML), "X-Forwarded-For": client},
        )

    answers = await asyncio.gather(*(ask(n) for n in range(50)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(202) == 3 and statuses.count(429) == 47, statuses
    refused = [answer for answer in answers if answer.status_code == 429]
    assert all(0 < int(answer.headers["retry-after"]) <= 600 for answer in refused)
    page = next(a for a in refused if a.headers["content-type"].startswith("text/html"))
    assert "Try again in 10 minutes" in page.text and "<h1>" in page.text
    body = next(a for a in refused if a.headers["content-type"] == "application/json").json()
    assert body["retry_after_seconds"] > 0 and "Try again in" in body["error"]

    def sign_in_mails() -> int:
        return len(
            [m for m in messages_to(infra.mailbox_dir, learner) if "Your quest" in m["Subject"]]
        )

    assert _settled(sign_in_mails, 3) == 3


async def test_open_link_plus_addressing_mails_one_person_three_times(
    http, platform, organiser, infra
):
    url = await _open_link(http, platform, organiser, "Plus addressing")
    domain = f"plus{uuid.uuid4().hex[:8]}.example.org"
    client = _client()

    async def ask(n: int) -> httpx.Response:
        return await http.post(
            url, data={"email": f"victim+{n}@{domain}"}, headers={**HTML, "X-Forwarded-For": client}
        )

    answers = []
    for start in range(0, 200, 25):  # 200 requests, 25 at a time
        answers += await asyncio.gather(*(ask(n) for n in range(start, start + 25)))
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(202) == 3 and statuses.count(429) == 197, statuses
    assert "Try again in" in answers[-1].text and answers[-1].headers["retry-after"]
    assert _settled(lambda: len(offer_ids_mailed(infra.mailbox_dir, domain)), 3) == 3

    # The limit is in PostgreSQL: a restarted badge service still refuses.
    platform.stop("badge")
    platform.start("badge")
    platform.wait_healthy("badge")
    again = await http.post(
        url, data={"email": f"victim+new@{domain}"}, headers={**JSON, "X-Forwarded-For": _client()}
    )
    assert again.status_code == 429 and int(again.headers["retry-after"]) > 0


async def test_open_link_one_client_gets_twenty_emails_in_ten_minutes(
    http, platform, organiser, infra
):
    url = await _open_link(http, platform, organiser, "Client limit")
    domain = f"client{uuid.uuid4().hex[:8]}.example.org"
    client = _client()
    answers = []
    for n in range(30):
        # A made-up hop to the left of the proxy's own entry changes nothing.
        forwarded = f"203.0.113.{n}, {client}"
        answers.append(
            await http.post(
                url,
                data={"email": f"person{n}@{domain}"},
                headers={**JSON, "X-Forwarded-For": forwarded},
            )
        )
    statuses = [answer.status_code for answer in answers]
    assert statuses == [202] * 20 + [429] * 10, statuses
    elsewhere = await http.post(
        url, data={"email": f"other@{domain}"}, headers={**JSON, "X-Forwarded-For": _client()}
    )
    assert elsewhere.status_code == 202, elsewhere.text
    assert _settled(lambda: len(offer_ids_mailed(infra.mailbox_dir, domain)), 21) == 21


async def test_open_link_is_limited_per_link(http, platform, organiser, infra):
    url = await _open_link(http, platform, organiser, "Link limit")
    domain = f"link{uuid.uuid4().hex[:8]}.example.org"
    answers = await asyncio.gather(
        *(
            http.post(
                url,
                data={"email": f"person{n}@{domain}"},
                headers={**JSON, "X-Forwarded-For": f"192.0.2.{n + 1}"},
            )
            for n in range(30)
        )
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [202] * 25 + [429] * 5, statuses
    assert _settled(lambda: len(offer_ids_mailed(infra.mailbox_dir, domain)), 25) == 25
