"""Events of the evidence service, on topic `evidence.events`: quests, submissions, reviews,
decisions. Every event of a quest is keyed by the quest id."""

from __future__ import annotations

import uuid
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.badge import EvidenceItem, EvidenceTask
from contracts.envelope import Event, register

TOPIC = "evidence.events"

ReviewRole = Literal["self", "peer", "organiser"]


class EvidenceEvent(Event):
    topic: ClassVar[str] = TOPIC


class FileRef(BaseModel):
    """An evidence file in the content-addressed blob store."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1)
    media_type: str = Field(max_length=100)
    filename: str = Field(max_length=200)


class QuestStarted(EvidenceEvent):
    """The badge's evidence rules as the quest started: they hold for this quest to its end."""

    quest_id: uuid.UUID
    badge_class_id: uuid.UUID
    issuer_id: uuid.UUID
    offer_id: uuid.UUID
    learner_email: str = Field(max_length=320)
    badge_name: str = Field(max_length=200)
    evidence_mode: Literal["self", "peer", "organiser"]
    tasks: tuple[EvidenceTask, ...] = Field(min_length=1, max_length=20)
    peer_approvals: int = Field(default=1, ge=1, le=10)


class SignInAsked(EvidenceEvent):
    """Someone asked for sign-in links for an address, on its own random stream. The request
    is answered at once, the same whether the address has quests or not; the evidence service
    then finds the quests (those started before the ask) and mails a link to each."""

    learner_email: str = Field(max_length=320)


class SignInRequested(EvidenceEvent):
    """A learner asked for a fresh link to their quest; the notifier mails it."""

    quest_id: uuid.UUID
    learner_email: str = Field(max_length=320)
    badge_name: str = Field(max_length=200)


class EvidenceSubmitted(EvidenceEvent):
    submission_id: uuid.UUID
    quest_id: uuid.UUID
    task_id: uuid.UUID
    kind: Literal["text", "url", "file"]
    text: str | None = Field(default=None, max_length=20_000)
    url: str | None = Field(default=None, max_length=2_000)
    file: FileRef | None = None


class ReviewRequested(EvidenceEvent):
    """Reviewers are asked to look at a submission; the notifier mails each a review link."""

    submission_id: uuid.UUID
    quest_id: uuid.UUID
    role: Literal["peer", "organiser"]
    reviewers: tuple[str, ...] = Field(max_length=200)
    badge_name: str = Field(max_length=200)
    task_title: str = Field(max_length=200)


class ReviewRecorded(EvidenceEvent):
    review_id: uuid.UUID
    submission_id: uuid.UUID
    quest_id: uuid.UUID
    reviewer: str = Field(max_length=320)
    role: ReviewRole
    verdict: Literal["approve", "reject"]
    feedback: str = Field(default="", max_length=5_000)


class SubmissionApproved(EvidenceEvent):
    submission_id: uuid.UUID
    quest_id: uuid.UUID
    task_id: uuid.UUID


class SubmissionRejected(EvidenceEvent):
    """Back to the learner with the feedback; they can submit again."""

    submission_id: uuid.UUID
    quest_id: uuid.UUID
    task_id: uuid.UUID
    learner_email: str = Field(max_length=320)
    badge_name: str = Field(max_length=200)
    feedback: str = Field(default="", max_length=5_000)


class QuestCompleted(EvidenceEvent):
    """Every task is approved: the badge service awards the badge with this evidence."""

    quest_id: uuid.UUID
    badge_class_id: uuid.UUID
    offer_id: uuid.UUID
    learner_email: str = Field(max_length=320)
    evidence: tuple[EvidenceItem, ...] = Field(max_length=20)


class AddressSignInAsked(EvidenceEvent):
    """Someone asked to sign in to a learner's home with an address, on its own random
    stream. The notifier mails the address one link that proves it (whatever it holds: the
    answer and the email are the same for any address)."""

    learner_email: str = Field(max_length=320)


class RecipientDisplayChanged(EvidenceEvent):
    """The holder of an award chose what its public badge page says of them, on the
    assertion's stream: their name as given, or (`display_name` null) the masked address.
    The badge service shows it on the badge page."""

    assertion_id: uuid.UUID
    badge_class_id: uuid.UUID
    display_name: str | None = Field(default=None, min_length=1, max_length=100)


class PlaylistInvitationSent(EvidenceEvent):
    """An organiser, or a learner who follows the playlist, invited people to it by email, on
    the invitation's own random stream; the notifier mails each invitee the playlist's public
    page. Limited per sender and per invited address before it is appended."""

    invitation_id: uuid.UUID
    playlist_id: uuid.UUID
    playlist_name: str = Field(max_length=200)
    issuer_id: uuid.UUID
    issuer_name: str = Field(max_length=200)
    inviter_kind: Literal["organiser", "learner"]
    inviter: str = Field(
        max_length=320, description="The organiser's name or the learner's address."
    )
    invitees: tuple[str, ...] = Field(min_length=1, max_length=20)
    note: str = Field(default="", max_length=500)


register(
    QuestStarted,
    SignInAsked,
    SignInRequested,
    EvidenceSubmitted,
    ReviewRequested,
    ReviewRecorded,
    SubmissionApproved,
    SubmissionRejected,
    QuestCompleted,
    AddressSignInAsked,
    RecipientDisplayChanged,
    PlaylistInvitationSent,
)
