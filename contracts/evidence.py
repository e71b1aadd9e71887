"""Events of the evidence service, on topic `evidence.events`: quests, submissions, reviews,
decisions."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import Field

from contracts.badge import BlobRef
from contracts.envelope import Event, register

TOPIC = "evidence.events"


class EvidenceEvent(Event):
    topic: ClassVar[str] = TOPIC


class QuestStarted(EvidenceEvent):
    quest_id: uuid.UUID
    badge_class_id: uuid.UUID
    learner_email: str = Field(max_length=320)


class EvidenceSubmitted(EvidenceEvent):
    submission_id: uuid.UUID
    quest_id: uuid.UUID
    task_id: uuid.UUID
    kind: Literal["text", "url", "file"]
    text: str | None = Field(default=None, max_length=20_000)
    url: str | None = Field(default=None, max_length=2_000)
    file: BlobRef | None = None


class ReviewRecorded(EvidenceEvent):
    review_id: uuid.UUID
    submission_id: uuid.UUID
    reviewer: str = Field(max_length=320)
    verdict: Literal["approve", "reject"]
    feedback: str = Field(default="", max_length=5_000)


class SubmissionApproved(EvidenceEvent):
    submission_id: uuid.UUID
    quest_id: uuid.UUID


class SubmissionRejected(EvidenceEvent):
    submission_id: uuid.UUID
    quest_id: uuid.UUID
    feedback: str = Field(default="", max_length=5_000)


class QuestCompleted(EvidenceEvent):
    """Every task is approved: the badge service awards the badge with this evidence."""

    quest_id: uuid.UUID
    badge_class_id: uuid.UUID
    learner_email: str = Field(max_length=320)


register(
    QuestStarted,
    EvidenceSubmitted,
    ReviewRecorded,
    SubmissionApproved,
    SubmissionRejected,
    QuestCompleted,
)
