"""What the evidence service decides on events: what a recorded review settles, when a quest
is complete, and which quests a sign-in ask reaches. Each loads the quest's state through the
`QuestStates` port, under the quest's lock, and emits what the domain decides.

Everything a decision needs is the quest's own (its rules came with QuestStarted), so
replaying this service's log alone reaches the same decisions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from contracts import Envelope, Event, derived_envelope, derived_id
from contracts.evidence import ReviewRecorded, SignInAsked, SubmissionApproved
from services.evidence.domain.quests import Quest, decide_completion, decide_review_outcome
from services.evidence.domain.sign_in import decide_sign_ins, evolve_sign_in_ask
from services.kernel.unit_of_work import UnitOfWork

ACTOR = "service:evidence"


class QuestStates(Protocol):
    """The quests as their events left them (PostgreSQL, or dicts kept by `evolve`)."""

    async def quest(self, quest_id: uuid.UUID) -> Quest | None: ...

    async def quests_of(self, email: str, started_by: datetime) -> list[Quest]: ...


class QuestPolicies:
    def __init__(self, states: Callable[[UnitOfWork], QuestStates], public_url: str) -> None:
        self._states = states
        self._public_url = public_url.rstrip("/")

    async def settle_review(self, uow: UnitOfWork, envelope: Envelope[ReviewRecorded]) -> None:
        """A review approves or returns the submission, or waits for more peers."""
        event = envelope.payload
        version = await uow.lock_stream(event.quest_id)
        quest = await self._states(uow).quest(event.quest_id)
        if quest is None:
            raise ValueError(f"review {event.review_id} names an unknown quest")
        for decided in decide_review_outcome(quest, event):
            await _emit(uow, envelope, decided, "ReviewDecision", event.quest_id, version + 1)

    async def complete_quest(self, uow: UnitOfWork, envelope: Envelope[SubmissionApproved]) -> None:
        """With every task approved, the quest is complete (once)."""
        event = envelope.payload
        version = await uow.lock_stream(event.quest_id)
        quest = await self._states(uow).quest(event.quest_id)
        page = f"{self._public_url}/evidence/{event.quest_id}"
        for completed in decide_completion(quest, page):
            # Derived from the quest, not the approval: a quest completes once, whichever
            # approval came last.
            event_id = derived_id(completed.quest_id, "QuestCompleted")
            await uow.emit(
                derived_envelope(
                    completed,
                    envelope,
                    event_id=event_id,
                    stream_id=completed.quest_id,
                    stream_version=version + 1,
                    actor=ACTOR,
                )
            )

    async def mail_sign_in_links(self, uow: UnitOfWork, envelope: Envelope[SignInAsked]) -> None:
        """A link to each quest of the address. Done here, off the request path, so the request
        takes the same time whether the address has quests or not."""
        ask = evolve_sign_in_ask(None, envelope)
        quests = await self._states(uow).quests_of(ask.learner_email, ask.asked_at)
        for requested in decide_sign_ins(ask, quests):
            version = await uow.lock_stream(requested.quest_id)
            kind = f"SignInRequested:{requested.quest_id}"
            await _emit(uow, envelope, requested, kind, requested.quest_id, version + 1)


async def _emit(
    uow: UnitOfWork,
    cause: Envelope[ReviewRecorded] | Envelope[SignInAsked],
    event: Event,
    kind: str,
    stream_id: uuid.UUID,
    version: int,
) -> None:
    await uow.emit(
        derived_envelope(
            event,
            cause,
            event_id=derived_id(cause.event_id, kind),
            stream_id=stream_id,
            stream_version=version,
            actor=ACTOR,
        )
    )
