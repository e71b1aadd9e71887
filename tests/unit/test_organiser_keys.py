from __future__ import annotations

import uuid

import pytest

from contracts.activity import (
    OrganiserAdded,
    OrganiserAdminRoleGranted,
    OrganiserKeyIssued,
    OrganiserKeyRevoked,
    OrganiserRemoved,
)
from contracts.organiser_keys import MalformedKey, parse_api_key
from services.activity.domain.keys import new_key
from services.activity.domain.organisations import check_email, check_issuer_url
from services.activity.domain.organisers import (
    Key,
    Member,
    Operator,
    decide_add,
    decide_issue_key,
    decide_remove,
    decide_revoke_key,
)
from services.kernel.errors import Conflict, Forbidden, Invalid, NotFound


def test_a_new_key_parses_back_to_its_id_and_secret():
    key = new_key()
    assert parse_api_key(key.api_key) == (key.key_id, key.secret)
    assert key.secret not in key.secret_sha256
    assert len(key.secret) >= 43  # 256 bits, url-safe


@pytest.mark.parametrize("bad", ["", "obk_", "abc_0123456789ab_secret", "obk_0123456789abXsecret"])
def test_malformed_keys_are_refused(bad: str):
    with pytest.raises(MalformedKey, match="malformed"):
        parse_api_key(bad)


# -- who may do what with organisers and keys (services/activity/domain/organisers.py) --------

ORGANISATION = uuid.uuid4()


def _member(admin: bool = False, organisation: uuid.UUID = ORGANISATION) -> Member:
    return Member(uuid.uuid4(), organisation, "Someone", "someone@example.org", admin, False)


def _key(owner: Member, revoked: bool = False) -> Key:
    return Key(new_key().key_id, owner.organiser_id, owner.organisation_id, revoked)


def test_only_admins_add_organisers():
    with pytest.raises(Forbidden, match="only an admin"):
        decide_add(
            _member(), ORGANISATION, uuid.uuid4(), "New", "new@example.org", new_key(), admin=False
        )
    events = decide_add(
        _member(admin=True),
        ORGANISATION,
        uuid.uuid4(),
        "New",
        "new@example.org",
        new_key(),
        admin=True,
    )
    assert [type(e) for e in events] == [
        OrganiserAdded,
        OrganiserKeyIssued,
        OrganiserAdminRoleGranted,
    ]


def test_an_organiser_revokes_their_own_keys_and_an_admin_anyones():
    owner, colleague, admin = _member(), _member(), _member(admin=True)
    key = _key(owner)
    assert [e.key_id for e in decide_revoke_key(owner, key)] == [key.key_id]
    assert decide_revoke_key(admin, key)
    with pytest.raises(Forbidden):
        decide_revoke_key(colleague, key)
    with pytest.raises(NotFound):
        decide_revoke_key(_member(admin=True, organisation=uuid.uuid4()), key)
    with pytest.raises(Conflict, match="already revoked"):
        decide_revoke_key(owner, _key(owner, revoked=True))
    assert decide_revoke_key(Operator(), key)


def test_removing_an_organiser_revokes_each_live_key_first():
    admin, leaving = _member(admin=True), _member()
    live, dead = _key(leaving), _key(leaving, revoked=True)
    events = decide_remove(admin, leaving, [live, dead])
    assert [type(e) for e in events] == [OrganiserKeyRevoked, OrganiserRemoved]
    assert events[0].key_id == live.key_id  # type: ignore[union-attr]
    with pytest.raises(Forbidden):
        decide_remove(_member(), leaving, [])
    with pytest.raises(Conflict, match="yourself"):
        decide_remove(admin, admin, [])


def test_keys_are_issued_to_oneself_only():
    me, colleague = _member(), _member()
    [issued] = decide_issue_key(me, me, new_key())
    assert issued.organiser_id == me.organiser_id
    with pytest.raises(Forbidden, match="yourself"):
        decide_issue_key(me, colleague, new_key())


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<b>",
        "ftp://x.org",
        "https://",
        "//x.org",
        "https://a b.org",
    ],
)
def test_issuer_urls_are_web_addresses_only(url: str):
    with pytest.raises(Invalid):
        check_issuer_url(url)


def test_issuer_urls_and_emails_that_are_fine_pass():
    assert (
        check_issuer_url(" https://riverside.example.org/about ")
        == "https://riverside.example.org/about"
    )
    assert check_issuer_url("http://localhost:8080") == "http://localhost:8080"
    assert check_email(" Ana@Riverside.Example.ORG", "x") == "Ana@riverside.example.org"
    with pytest.raises(Invalid, match="not a valid email"):
        check_email("ana@", "the organiser's email")
