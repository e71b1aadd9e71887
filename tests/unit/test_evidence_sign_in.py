"""Signing in again: the ask is the same for any address, and reaches each of the address's
quests started before it, oldest first."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from contracts import new_envelope
from contracts.evidence import SignInAsked, SignInRequested
from services.evidence.domain.addresses import normalise_email
from services.evidence.domain.sign_in import (
    SignInAsk,
    decide_sign_in_ask,
    decide_sign_ins,
    evolve_sign_in_ask,
)
from tests.unit.evidence_quest_log import LEARNER, STARTED, QuestLog


def test_emails_are_compared_trimmed_and_lower_cased():
    assert normalise_email("  Learner@Example.ORG \n") == "learner@example.org"


def test_an_ask_is_made_for_any_address_normalised():
    assert decide_sign_in_ask(" Someone@Example.org ") == [
        SignInAsked(learner_email="someone@example.org")
    ]


def test_an_ask_holds_its_address_and_time():
    ask = new_envelope(
        SignInAsked(learner_email=LEARNER),
        stream_id=uuid.uuid4(),
        stream_version=1,
        occurred_at=STARTED,
        actor="learner",
    )
    assert evolve_sign_in_ask(None, ask) == SignInAsk(LEARNER, STARTED)
    other = new_envelope(
        SignInRequested(quest_id=uuid.uuid4(), learner_email=LEARNER, badge_name="W"),
        stream_id=uuid.uuid4(),
        stream_version=1,
        actor="t",
    )
    with pytest.raises(ValueError, match="not an event of a sign-in ask"):
        evolve_sign_in_ask(None, other)


def test_a_link_goes_to_each_quest_of_the_address_started_before_the_ask():
    later = QuestLog(started=STARTED + timedelta(hours=2)).quest
    first = QuestLog(started=STARTED).quest
    after_the_ask = QuestLog(started=STARTED + timedelta(hours=5)).quest
    someone_else = QuestLog(learner="other@example.org").quest
    done = QuestLog(started=STARTED + timedelta(hours=1))
    done.approve(done.submit())
    ask = SignInAsk(LEARNER, STARTED + timedelta(hours=3))

    requested = decide_sign_ins(ask, [later, after_the_ask, first, someone_else, done.quest])

    assert requested == [
        SignInRequested(quest_id=q.quest_id, learner_email=LEARNER, badge_name="Welding")
        for q in (first, done.quest, later)
    ]


def test_an_address_without_quests_gets_nothing():
    assert decide_sign_ins(SignInAsk("nobody@example.org", STARTED), []) == []
