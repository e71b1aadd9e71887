"""The policies' view of quests over dicts, kept by the domain's `evolve`: what
`read_models.PostgresQuests` reads from PostgreSQL, for running the policies in memory."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TypeVar

from contracts import Envelope
from contracts.evidence import (
    EvidenceEvent,
    EvidenceSubmitted,
    QuestCompleted,
    QuestStarted,
    ReviewRecorded,
    ReviewRequested,
    SignInRequested,
    SubmissionApproved,
    SubmissionRejected,
)
from services.evidence.domain.quests import Quest, evolve
from services.kernel.handlers import Handlers
from services.kernel.unit_of_work import UnitOfWork

Q = TypeVar("Q", bound=EvidenceEvent)

QUEST_EVENTS = (
    QuestStarted,
    EvidenceSubmitted,
    ReviewRequested,
    ReviewRecorded,
    SubmissionApproved,
    SubmissionRejected,
    QuestCompleted,
    SignInRequested,
)


class InMemoryQuests:
    def __init__(self) -> None:
        self.quests: dict[uuid.UUID, Quest] = {}

    async def quest(self, quest_id: uuid.UUID) -> Quest | None:
        return self.quests.get(quest_id)

    async def quests_of(self, email: str, started_by: datetime) -> list[Quest]:
        return [
            q
            for q in self.quests.values()
            if q.learner_email == email and q.started_at <= started_by
        ]

    async def apply(self, uow: UnitOfWork, envelope: Envelope[Q]) -> None:
        quest_id = envelope.stream_id
        self.quests[quest_id] = evolve(self.quests.get(quest_id), envelope)

    def projections(self) -> Handlers:
        """Keeps the quests as the read models' projections would, for every quest event."""
        handlers = Handlers()
        for event_type in QUEST_EVENTS:
            handlers.project(event_type, self.apply)
        return handlers
