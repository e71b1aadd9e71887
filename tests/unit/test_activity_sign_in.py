"""Organisers signing in to the console: every rule of `services.activity.domain.sign_in`
(the ask, which organisers it reaches, using a link once) and the state of a link."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts import new_envelope
from contracts.activity import OrganiserKeyIssued, OrganiserSignInAsked, OrganiserSignInRequested
from contracts.envelope import upcast
from contracts.tokens import ClaimTokens, OrganiserSignIn
from services.activity.domain.keys import new_key
from services.activity.domain.organisers import Member
from services.activity.domain.sign_in import (
    SIGN_IN_LINK_LIFETIME,
    SignInAsk,
    SignInNotHereYet,
    SignInRequest,
    decide_sign_in_ask,
    decide_sign_in_links,
    decide_start_session,
    evolve_sign_in_ask,
    evolve_sign_in_request,
    started_from,
)
from services.kernel.errors import Conflict, Forbidden, Gone, Invalid, NotFound

ORG, OTHER_ORG = uuid.uuid4(), uuid.uuid4()
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
ANA = Member(uuid.uuid4(), ORG, "Ana", "Ana@riverside.example.org", is_admin=True, removed=False)


def _member(email: str, organisation: uuid.UUID = ORG, removed: bool = False) -> Member:
    return Member(uuid.uuid4(), organisation, "X", email, is_admin=False, removed=removed)


def test_an_ask_is_the_same_fact_for_any_address_and_a_malformed_one_is_refused():
    ask_id = uuid.uuid4()
    [asked] = decide_sign_in_ask(ask_id, "  nobody@Example.ORG ")
    assert asked == OrganiserSignInAsked(ask_id=ask_id, email="nobody@example.org")
    with pytest.raises(Invalid):
        decide_sign_in_ask(ask_id, "not an address")


def test_an_ask_reaches_every_organiser_with_the_address_and_no_one_else():
    ask = SignInAsk(uuid.uuid4(), "ana@riverside.example.org", NOW)
    elsewhere = _member("ana@riverside.example.org", OTHER_ORG)
    removed = _member("ana@riverside.example.org", removed=True)
    someone = _member("ben@riverside.example.org")
    links = decide_sign_in_links(ask, [ANA, elsewhere, removed, someone])
    assert {link.organiser_id for link in links} == {ANA.organiser_id, elsewhere.organiser_id}
    for link in links:
        assert link.expires_at == NOW + SIGN_IN_LINK_LIFETIME
        assert link.email.lower() == "ana@riverside.example.org"
    # Decided again (a replay), the links are the same ones.
    assert decide_sign_in_links(ask, [someone, elsewhere, ANA]) == links
    assert decide_sign_in_links(ask, [someone]) == []


def _request() -> SignInRequest:
    return SignInRequest(uuid.uuid4(), ANA.organiser_id, ORG, NOW + timedelta(minutes=15), False)


def _start(
    token: OrganiserSignIn | None,
    request: SignInRequest | None,
    organiser: Member | None = ANA,
    now: datetime = NOW,
) -> list[OrganiserKeyIssued]:
    return decide_start_session(
        token,
        request,
        organiser,
        new_key(),
        now=now,
        lifetime=timedelta(hours=12),
        where="Chromium on Linux · 127.0.0.1",
    )


def test_a_link_makes_one_session_key_that_expires():
    request = _request()
    token = OrganiserSignIn(request.request_id, request.expires_at)
    [issued] = _start(token, request)
    assert issued.purpose == "session"
    assert issued.expires_at == NOW + timedelta(hours=12)
    assert issued.sign_in_request_id == request.request_id
    assert issued.organiser_id == ANA.organiser_id and issued.organisation_id == ORG
    assert issued.started_from == "Chromium on Linux · 127.0.0.1"


def test_a_used_expired_forged_or_orphaned_link_is_refused_and_one_not_recorded_yet_waits():
    request = _request()
    token = OrganiserSignIn(request.request_id, request.expires_at)
    with pytest.raises(Conflict, match="already been used"):
        used = SignInRequest(request.request_id, ANA.organiser_id, ORG, request.expires_at, True)
        _start(token, used)
    with pytest.raises(Gone, match="expired"):
        _start(token, request, now=request.expires_at)
    with pytest.raises(Gone):
        _start(OrganiserSignIn(request.request_id, NOW - timedelta(seconds=1)), request)
    with pytest.raises(NotFound):
        _start(None, request)
    with pytest.raises(SignInNotHereYet, match="on its way"):
        _start(token, None)  # signed here: its request is still committing
    with pytest.raises(Gone):
        _start(OrganiserSignIn(request.request_id, NOW - timedelta(seconds=1)), None)
    with pytest.raises(NotFound):
        _start(OrganiserSignIn(uuid.uuid4(), request.expires_at), request)
    with pytest.raises(Forbidden):
        _start(token, request, organiser=_member(ANA.email, removed=True))


def test_a_link_is_made_once_and_used_by_its_session_key():
    request_id = uuid.uuid4()
    made = new_envelope(
        OrganiserSignInRequested(
            request_id=request_id,
            organiser_id=ANA.organiser_id,
            organisation_id=ORG,
            email=ANA.email,
            expires_at=NOW,
        ),
        stream_id=ANA.organiser_id,
        stream_version=3,
        actor="service:activity",
    )
    state = evolve_sign_in_request(None, made)
    assert state == SignInRequest(request_id, ANA.organiser_id, ORG, NOW, used=False)
    assert evolve_sign_in_request(state, made) is state
    key = new_key()

    def issued(sign_in_request_id: uuid.UUID | None) -> object:
        return new_envelope(
            OrganiserKeyIssued(
                organiser_id=ANA.organiser_id,
                organisation_id=ORG,
                key_id=key.key_id,
                secret_sha256=key.secret_sha256,
                purpose="session",
                expires_at=NOW,
                sign_in_request_id=sign_in_request_id,
            ),
            stream_id=ANA.organiser_id,
            stream_version=4,
            actor="t",
        )

    assert evolve_sign_in_request(state, issued(uuid.uuid4())) == state  # type: ignore[arg-type]
    assert evolve_sign_in_request(state, issued(request_id)).used  # type: ignore[arg-type]
    ask = new_envelope(
        OrganiserSignInAsked(ask_id=request_id, email="a@b.org"),
        stream_id=request_id,
        stream_version=1,
        actor="anonymous",
    )
    assert evolve_sign_in_ask(None, ask).email == "a@b.org"
    with pytest.raises(ValueError):
        evolve_sign_in_request(None, ask)


def test_where_a_session_began_is_told_in_a_few_words():
    chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
    assert started_from(chrome, "192.0.2.1") == "Chrome on Linux · 192.0.2.1"
    assert started_from("", "") is None
    assert len(started_from("x" * 1000, "y" * 100) or "") <= 200


def test_an_old_key_is_an_api_key_that_never_expires():
    old = {
        "organiser_id": str(ANA.organiser_id),
        "organisation_id": str(ORG),
        "key_id": "k3y1d0000abc",
        "secret_sha256": "a" * 64,
    }
    key = OrganiserKeyIssued.model_validate(upcast(OrganiserKeyIssued, 1, old))
    assert (key.purpose, key.expires_at, key.sign_in_request_id) == ("api", None, None)


def test_sign_in_tokens_carry_their_link_and_expiry_under_the_key():
    tokens = ClaimTokens("s" * 20 + "0123456789abcdef")
    request_id = uuid.uuid4()
    token = tokens.organiser_sign_in(request_id, NOW)
    assert tokens.read_organiser_sign_in(token) == OrganiserSignIn(request_id, NOW)
    assert ClaimTokens("t" * 20 + "0123456789abcdef").read_organiser_sign_in(token) is None
    assert tokens.read_organiser_sign_in(token[:-2] + "AA") is None
    assert tokens.read_organiser_sign_in("p" + token[1:]) is None
    assert tokens.read(token) is None  # not a claim token
