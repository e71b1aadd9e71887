"""Organisers sign in to the console by an emailed one-time link, on the real platform: the
ask answers the same for any address, the link is mailed to organisers only, opening it uses
nothing, its button makes a session key the badge and evidence services accept, a second use
and an expired link are refused with a page, an expired session key is refused everywhere,
and signing out revokes the session key."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from aiokafka import AIOKafkaProducer

from contracts import encode, new_envelope
from contracts.activity import (
    OrganisationCreated,
    OrganiserAdded,
    OrganiserKeyIssued,
)
from contracts.tokens import ClaimTokens
from services.activity.domain.keys import new_key
from tests.support import Platform, bearer, wait_for
from tests.support_mail import messages_to

# Several asks for one address in this module.
PLATFORM_ENV = {"RATE_LIMIT_PER_ADDRESS": "20"}
EMAIL = "ana@riverside.example.org"


def _endpoints(platform: Platform) -> dict[str, str]:
    return {
        "activity": f"{platform.url('activity')}/v1/activities",
        "badge": f"{platform.url('badge')}/v1/badges",
        "evidence": f"{platform.url('evidence')}/v1/review-queue",
    }


def _form_headers(platform: Platform) -> dict[str, str]:
    # What a browser sends with a form posted from the console's own page.
    return {"origin": platform.url("console"), "accept": "text/html"}


def _signed_in(platform: Platform, key: str) -> dict[str, str]:
    return {**_form_headers(platform), "cookie": f"console_session={key}"}


def _links(platform: Platform, address: str) -> list[str]:
    pattern = re.compile(re.escape(platform.url("console")) + r"/sign-in/([A-Za-z0-9_-]+)")
    found = []
    for message in messages_to(platform.infra.mailbox_dir, address):  # type: ignore[arg-type]
        body = message.get_body(("plain",))
        assert body is not None
        found += pattern.findall(str(body.get_content()))
    return found


async def _new_link(http: httpx.AsyncClient, platform: Platform, address: str) -> str:
    before = len(_links(platform, address))
    asked = await http.post(
        f"{platform.url('console')}/sign-in",
        data={"email": address, "next": "/"},
        headers=_form_headers(platform),
    )
    assert asked.status_code == 202, asked.text
    assert "Check your inbox" in asked.text

    async def arrived() -> list[str]:
        return _links(platform, address)[before:]

    [token] = await wait_for(arrived, timeout=60)
    return token


async def test_the_ask_answers_alike_and_only_an_organiser_gets_a_link(http, platform, organiser):
    answers = []
    for address in (EMAIL, "nobody@riverside.example.org"):
        answer = await http.post(f"{platform.url('activity')}/v1/sign-in", json={"email": address})
        assert answer.status_code == 202, answer.text
        answers.append(answer.json())
    assert answers[0] == answers[1]

    async def mailed() -> list[str]:
        return _links(platform, EMAIL)

    await wait_for(mailed, timeout=60)
    await platform.caught_up("notifier", "activity.events")
    assert _links(platform, "nobody@riverside.example.org") == []
    # A malformed address is told as such, and changes nothing.
    bad = await http.post(f"{platform.url('activity')}/v1/sign-in", json={"email": "not-mail"})
    assert bad.status_code == 422, bad.text


async def test_a_link_signs_in_once_with_a_key_every_service_accepts(http, platform, organiser):
    token = await _new_link(http, platform, EMAIL)
    console = platform.url("console")
    # Opening the link (a mail scanner does) shows a button and uses nothing up.
    for _ in range(2):
        page = await http.get(f"{console}/sign-in/{token}", headers={"accept": "text/html"})
        assert page.status_code == 200
        assert "Sign in</button>" in page.text
        assert page.headers["referrer-policy"] == "no-referrer"
    signed_in = await http.post(f"{console}/sign-in/{token}", headers=_form_headers(platform))
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == "/"
    cookie = next(
        c for c in signed_in.headers.get_list("set-cookie") if c.startswith("console_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # the console's public URL is http here
    key = cookie.split(";")[0].split("=", 1)[1]
    # The console waited for the badge and evidence services to know the key.
    for service, url in _endpoints(platform).items():
        answer = await http.get(url, headers=bearer({"api_key": key}))
        assert answer.status_code == 200, (service, answer.text)
    dashboard = await http.get(f"{console}/", headers=_signed_in(platform, key))
    assert dashboard.status_code == 200 and "Dashboard" in dashboard.text

    # The session is a key with purpose "session" and an expiry, listed with where it began.
    keys = await http.get(f"{platform.url('activity')}/v1/keys", headers=bearer(organiser))
    [session] = [k for k in keys.json() if k["purpose"] == "session"]
    assert session["expires_at"] is not None and session["started_from"]

    again = await http.post(f"{console}/sign-in/{token}", headers=_form_headers(platform))
    assert again.status_code == 409
    assert "already been used" in again.text
    assert "console_session" not in again.headers.get("set-cookie", "")

    # Signing out revokes the session key, for every service.
    out = await http.post(f"{console}/sign-out", headers=_signed_in(platform, key))
    assert out.status_code == 303 and out.headers["location"] == "/sign-in"

    async def refused_everywhere() -> bool:
        answers = [
            await http.get(url, headers=bearer({"api_key": key}))
            for url in _endpoints(platform).values()
        ]
        return all(a.status_code == 401 for a in answers)

    await wait_for(refused_everywhere, timeout=10)
    after = await http.get(f"{console}/", headers=_signed_in(platform, key))
    assert after.status_code == 303 and after.headers["location"].startswith("/sign-in?next=")


async def test_an_expired_or_forged_link_is_refused_with_a_page(http, platform, organiser):
    token = await _new_link(http, platform, EMAIL)
    tokens = ClaimTokens(platform.claim_token_secret)
    named = tokens.read_organiser_sign_in(token)
    assert named is not None and named.expires_at > datetime.now(UTC)
    assert named.expires_at <= datetime.now(UTC) + timedelta(minutes=15, seconds=5)
    console = platform.url("console")
    expired = tokens.organiser_sign_in(named.request_id, datetime.now(UTC) - timedelta(minutes=1))
    answer = await http.post(f"{console}/sign-in/{expired}", headers=_form_headers(platform))
    assert answer.status_code == 410 and "expired" in answer.text
    forged = ClaimTokens("another-secret-" * 3).organiser_sign_in(
        named.request_id, named.expires_at
    )
    answer = await http.post(f"{console}/sign-in/{forged}", headers=_form_headers(platform))
    assert answer.status_code == 404 and "not valid" in answer.text
    # Neither used the link up.
    works = await http.post(f"{console}/sign-in/{token}", headers=_form_headers(platform))
    assert works.status_code == 303


async def test_an_expired_session_key_is_refused_everywhere(http, platform, infra):
    """Keys written as the activity service writes them: an organiser with a session that has
    expired and one that has not."""
    organisation_id, organiser_id = uuid.uuid4(), uuid.uuid4()
    past, future = new_key(), new_key()
    now = datetime.now(UTC)
    events = [
        (
            organisation_id,
            OrganisationCreated(
                organisation_id=organisation_id,
                name="Mill",
                url="https://mill.example.org",
                email="badges@mill.example.org",
            ),
            1,
        ),
        (
            organiser_id,
            OrganiserAdded(
                organiser_id=organiser_id,
                organisation_id=organisation_id,
                name="Eve",
                email="eve@mill.example.org",
            ),
            1,
        ),
    ]
    for version, (key, expires) in enumerate(
        ((past, now - timedelta(minutes=1)), (future, now + timedelta(hours=1))), start=2
    ):
        events.append(
            (
                organiser_id,
                OrganiserKeyIssued(
                    organiser_id=organiser_id,
                    organisation_id=organisation_id,
                    key_id=key.key_id,
                    secret_sha256=key.secret_sha256,
                    purpose="session",
                    expires_at=expires,
                ),
                version,
            )
        )
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await producer.start()
    try:
        for stream_id, event, version in events:
            envelope = new_envelope(
                event, stream_id=stream_id, stream_version=version, actor="operator"
            )
            await producer.send_and_wait(
                platform.topic("activity.events"), encode(envelope), key=str(stream_id).encode()
            )
    finally:
        await producer.stop()

    async def accepted_everywhere() -> bool:
        answers = [
            await http.get(url, headers=bearer({"api_key": future.api_key}))
            for url in _endpoints(platform).values()
        ]
        return all(a.status_code == 200 for a in answers)

    await wait_for(accepted_everywhere)
    for service, url in _endpoints(platform).items():
        answer = await http.get(url, headers=bearer({"api_key": past.api_key}))
        assert answer.status_code == 401, (service, answer.text)
        assert "expired" in answer.json()["error"]
