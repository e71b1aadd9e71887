"""Signing in again: an ask for an address becomes a link to each of its quests.

The ask is a fact on its own random stream, appended at once and the same for any address;
deciding which quests it reaches happens off the request path. Only quests started before the
ask count, so a replay (whatever order the partitions come in) never finds one more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts import Envelope
from contracts.evidence import SignInAsked, SignInRequested
from services.evidence.domain.addresses import normalise_email
from services.evidence.domain.quests import Quest


@dataclass(frozen=True)
class SignInAsk:
    learner_email: str
    asked_at: datetime


def evolve_sign_in_ask(state: SignInAsk | None, envelope: Envelope[Any]) -> SignInAsk:
    """The ask's stream holds one event: the ask."""
    event = envelope.payload
    if isinstance(event, SignInAsked):
        return SignInAsk(event.learner_email, envelope.occurred_at)
    raise ValueError(f"{envelope.event_type} is not an event of a sign-in ask")


def decide_sign_in_ask(email: str) -> list[SignInAsked]:
    """Always the ask, whatever the address: the answer must not tell who has quests."""
    return [SignInAsked(learner_email=normalise_email(email))]


def decide_sign_ins(ask: SignInAsk, quests: list[Quest]) -> list[SignInRequested]:
    """A link for each of the address's quests started by the ask (done ones too: their page
    shows the badge), each on its quest's stream, oldest first."""
    reached = sorted(
        (
            q
            for q in quests
            if q.learner_email == ask.learner_email and q.started_at <= ask.asked_at
        ),
        key=lambda q: (q.started_at, q.quest_id),
    )
    return [
        SignInRequested(
            quest_id=quest.quest_id, learner_email=quest.learner_email, badge_name=quest.badge_name
        )
        for quest in reached
    ]
