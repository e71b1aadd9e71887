"""Claim, review and sign-in tokens: sign-in links expire, and a ring of keys lets the secret
be rotated without breaking links already mailed."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from contracts.tokens import ClaimTokens, ClaimTokenSettings, OpenToken, PersonalToken

OLD = "the secret of last year; long and random 0123456789"
NEW = "this year-s secret; also long and random ABCDEFGHIJ"
LEARNER = "learner@example.org"


def test_a_sign_in_token_expires_after_its_lifetime():
    tokens = ClaimTokens(NEW, sign_in_days=7)
    quest = uuid.uuid4()
    issued = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    named = tokens.read_sign_in(tokens.sign_in(quest, LEARNER, issued), LEARNER)
    assert named is not None and named.quest_id == quest
    assert named.expires_at == issued + timedelta(days=7)
    assert not named.expired(issued + timedelta(days=6, hours=23))
    assert named.expired(issued + timedelta(days=7))


def test_a_sign_in_token_is_the_same_on_replay_and_bound_to_its_learner():
    tokens = ClaimTokens(NEW)
    quest, issued = uuid.uuid4(), datetime(2026, 12, 1, tzinfo=UTC)
    token = tokens.sign_in(quest, LEARNER, issued)
    assert tokens.sign_in(quest, LEARNER, issued) == token
    assert tokens.read_sign_in(token, "someone.else@example.org") is None
    assert tokens.read_sign_in(token, LEARNER.upper()) is not None


def test_a_sign_in_token_with_a_moved_expiry_is_refused():
    tokens = ClaimTokens(NEW)
    token = tokens.sign_in(uuid.uuid4(), LEARNER, datetime(2026, 12, 1, tzinfo=UTC))
    raw = bytearray(base64.urlsafe_b64decode(token[1:] + "=="))
    raw[17] ^= 0x7F  # push the expiry years out
    forged = "s" + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    assert tokens.read_sign_in(forged, LEARNER) is None


def test_sign_in_tokens_of_the_old_never_expiring_kind_are_refused():
    tokens = ClaimTokens(NEW)
    never_expiring = "s" + tokens.review(uuid.uuid4(), "sign-in:" + LEARNER)[1:]
    assert tokens.read_sign_in(never_expiring, LEARNER) is None


def test_links_mailed_before_a_rotation_still_work_and_new_ones_use_the_new_key():
    before = ClaimTokens(OLD)
    offer, badge, submission, quest = (uuid.uuid4() for _ in range(4))
    issued = datetime.now(UTC)
    mailed = {
        "personal": before.personal(offer),
        "open": before.open(badge, 3),
        "review": before.review(submission, LEARNER),
        "sign_in": before.sign_in(quest, LEARNER, issued),
    }
    after = ClaimTokens(NEW, previous=[OLD])
    assert after.read(mailed["personal"]) == PersonalToken(offer)
    assert after.read(mailed["open"]) == OpenToken(badge, 3)
    assert after.read_review(mailed["review"], LEARNER) == submission
    signed_in = after.read_sign_in(mailed["sign_in"], LEARNER)
    assert signed_in is not None and signed_in.quest_id == quest
    # New links are tagged with the new key: the old key alone does not read them.
    assert before.read(after.personal(offer)) is None
    assert ClaimTokens(NEW).read(after.personal(offer)) == PersonalToken(offer)
    # Once the old secret leaves the ring, its links stop working.
    assert ClaimTokens(NEW).read(mailed["personal"]) is None
    assert ClaimTokens(NEW).read_review(mailed["review"], LEARNER) is None


def test_the_ring_and_the_lifetime_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLAIM_TOKEN_SECRET", NEW)
    monkeypatch.setenv("CLAIM_TOKEN_PREVIOUS_SECRETS", f" {OLD} , ")
    monkeypatch.setenv("SIGN_IN_LINK_DAYS", "3")
    settings = ClaimTokenSettings()
    assert settings.previous_secrets == (OLD,)
    tokens = ClaimTokens.from_settings(settings)
    assert tokens.read(ClaimTokens(OLD).personal(uuid.uuid4())) is not None
    assert tokens.sign_in_lifetime == timedelta(days=3)
    monkeypatch.setenv("CLAIM_TOKEN_PREVIOUS_SECRETS", "changeme")
    with pytest.raises(ValidationError):
        ClaimTokenSettings()
