"""What an evidence quest's log holds, for the evidence tests: its events as the service
appends them (one quest, its tasks, submissions and reviews), and the quest they build."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import Envelope, Event, new_envelope
from contracts.badge import EvidenceTask
from contracts.evidence import (
    EvidenceSubmitted,
    QuestStarted,
    ReviewRecorded,
    ReviewRole,
    SubmissionApproved,
    SubmissionRejected,
)
from services.evidence.domain.quests import Quest, evolve

LEARNER = "learner@example.org"
STARTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ESSAY = EvidenceTask(task_id=uuid.uuid4(), title="An essay", kind="text", max_chars=100)
LINK = EvidenceTask(task_id=uuid.uuid4(), title="Your project", kind="url")
PHOTO = EvidenceTask(task_id=uuid.uuid4(), title="A photo", kind="file")


class QuestLog:
    """One quest's stream: each call appends an event with the next version and time."""

    def __init__(
        self,
        mode: str = "self",
        tasks: tuple[EvidenceTask, ...] = (ESSAY,),
        peer_approvals: int = 1,
        learner: str = LEARNER,
        started: datetime = STARTED,
    ) -> None:
        self.quest_id = uuid.uuid4()
        self.badge_class_id = uuid.uuid4()
        self.issuer_id = uuid.uuid4()
        self.offer_id = uuid.uuid4()
        self.learner = learner
        self.envelopes: list[Envelope[Any]] = []
        self._at = started
        self.append(
            QuestStarted(
                quest_id=self.quest_id,
                badge_class_id=self.badge_class_id,
                issuer_id=self.issuer_id,
                offer_id=self.offer_id,
                learner_email=learner,
                badge_name="Welding",
                evidence_mode=mode,  # type: ignore[arg-type]
                tasks=tasks,
                peer_approvals=peer_approvals,
            )
        )

    def append(self, event: Event) -> Envelope[Any]:
        envelope = new_envelope(
            event,
            stream_id=self.quest_id,
            stream_version=len(self.envelopes) + 1,
            occurred_at=self._at,
            actor="test",
        )
        self._at += timedelta(seconds=1)
        self.envelopes.append(envelope)
        return envelope

    def submit(self, task: EvidenceTask = ESSAY, text: str = "How I weld.") -> uuid.UUID:
        submission_id = uuid.uuid4()
        self.append(
            EvidenceSubmitted(
                submission_id=submission_id,
                quest_id=self.quest_id,
                task_id=task.task_id,
                kind=task.kind,
                text=text if task.kind == "text" else None,
                url="https://example.org/work" if task.kind == "url" else None,
            )
        )
        return submission_id

    def review(
        self,
        submission_id: uuid.UUID,
        reviewer: str,
        role: ReviewRole = "peer",
        verdict: str = "approve",
        feedback: str = "",
    ) -> ReviewRecorded:
        recorded = ReviewRecorded(
            review_id=uuid.uuid4(),
            submission_id=submission_id,
            quest_id=self.quest_id,
            reviewer=reviewer,
            role=role,
            verdict=verdict,  # type: ignore[arg-type]
            feedback=feedback,
        )
        self.append(recorded)
        return recorded

    def approve(self, submission_id: uuid.UUID, task: EvidenceTask = ESSAY) -> None:
        self.append(
            SubmissionApproved(
                submission_id=submission_id, quest_id=self.quest_id, task_id=task.task_id
            )
        )

    def reject(self, submission_id: uuid.UUID, task: EvidenceTask = ESSAY) -> None:
        self.append(
            SubmissionRejected(
                submission_id=submission_id,
                quest_id=self.quest_id,
                task_id=task.task_id,
                learner_email=self.learner,
                badge_name="Welding",
                feedback="Add a photo.",
            )
        )

    @property
    def quest(self) -> Quest:
        state: Quest | None = None
        for envelope in self.envelopes:
            state = evolve(state, envelope)
        assert state is not None
        return state
