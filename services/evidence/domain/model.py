"""Quests and reviews: when a submission is approved or returned, and when a quest is done.

Decided by the quest's writer under the quest's lock, in log order, so a replay reaches the
same decisions: one vote per reviewer counts, never the submitter's, and a quest completes once.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from contracts.badge import EvidenceItem, EvidenceTask
from contracts.evidence import ReviewRecorded, SubmissionApproved, SubmissionRejected
from services.evidence.domain.limits import media_types_said, size_said
from services.kernel.errors import BadRequest, Conflict, DomainError, Forbidden

SAFE_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


@dataclass(frozen=True)
class Quest:
    quest_id: uuid.UUID
    badge_class_id: uuid.UUID
    issuer_id: uuid.UUID
    offer_id: uuid.UUID
    learner_email: str
    badge_name: str
    completed: bool
    evidence_mode: str
    tasks: tuple[EvidenceTask, ...]
    peer_approvals: int
    assertion_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Submission:
    submission_id: uuid.UUID
    quest_id: uuid.UUID
    task_id: uuid.UUID
    kind: str
    text: str | None
    url: str | None
    file_name: str | None
    status: Literal["pending", "approved", "rejected"]
    # Who reviews it, as decided when it was submitted (None: the quest's own mode).
    review_role: str | None = None


@dataclass(frozen=True)
class Review:
    reviewer: str
    role: str
    verdict: str


class FeedbackRequired(DomainError):
    """Asking for changes without saying which leaves the learner nothing to act on."""

    status_code = 422


def check_feedback(verdict: str, feedback: str) -> None:
    if verdict == "reject" and not feedback.strip():
        raise FeedbackRequired(
            "Say what the learner should change: asking for changes needs feedback."
        )


def review_role_for(mode: str, peers_available: int, approvals_needed: int) -> str:
    """Who reviews a new submission. Peer review with fewer possible reviewers than approvals
    needed would leave the learner waiting for ever: the organisers review it instead."""
    if mode == "peer" and peers_available < approvals_needed:
        return "organiser"
    return mode


def check_evidence(
    task: EvidenceTask, text: str | None, url: str | None, file: tuple[str, str, int] | None
) -> None:
    """Refuses evidence that does not fit the task; `file` is (name, media type, size)."""
    if task.kind == "text":
        if not text or not text.strip():
            raise BadRequest("this task asks for text")
        if len(text) > task.max_chars:
            raise BadRequest(f"the text is longer than {task.max_chars} characters")
    elif task.kind == "url":
        if not url or not SAFE_URL.match(url.strip()) or len(url) > 2_000:
            raise BadRequest("this task asks for a web address starting with http:// or https://")
    else:
        if file is None:
            raise BadRequest("this task asks for a file")
        _, media_type, size = file
        if size == 0:
            raise BadRequest("the file is empty")
        if size > task.max_bytes:
            raise BadRequest(f"the file is larger than {size_said(task.max_bytes)}")
        if media_type not in task.media_types:
            kind = media_types_said((media_type,)) if media_type else "of a kind we cannot tell"
            raise BadRequest(
                f"this file is {kind}: such files are not accepted here "
                f"(this task takes {media_types_said(task.media_types)})"
            )


def check_can_submit(existing: Submission | None) -> None:
    if existing is not None and existing.status == "approved":
        raise Conflict("this task is already approved")
    if existing is not None and existing.status == "pending":
        raise Conflict("this task's evidence is waiting for review")


def check_reviewer(
    quest: Quest, reviewer: str, allowed: set[str], reviews: list[Review], submission: Submission
) -> None:
    if reviewer == quest.learner_email:
        raise Forbidden("you cannot review your own work")
    if reviewer not in allowed:
        raise Forbidden("only holders of this badge and invited reviewers can review it")
    if submission.status != "pending":
        raise Conflict("this submission has already been decided")
    if any(r.reviewer == reviewer for r in reviews):
        raise Conflict("you have already reviewed this submission")


def decide_review(
    submission: Submission,
    earlier: list[Review],
    review: ReviewRecorded,
    approvals_needed: int,
    learner_email: str,
    badge_name: str,
) -> SubmissionApproved | SubmissionRejected | None:
    """What a recorded review decides, if anything."""
    if submission.status != "pending":
        return None
    if review.role == "peer" and (
        review.reviewer == learner_email or any(r.reviewer == review.reviewer for r in earlier)
    ):
        return None  # never the submitter's; one vote per reviewer
    if review.verdict == "reject":
        return SubmissionRejected(
            submission_id=submission.submission_id,
            quest_id=submission.quest_id,
            task_id=submission.task_id,
            learner_email=learner_email,
            badge_name=badge_name,
            feedback=review.feedback,
        )
    if review.role == "peer":
        approvals = {r.reviewer for r in earlier if r.role == "peer" and r.verdict == "approve"}
        if len(approvals | {review.reviewer}) < approvals_needed:
            return None
    return SubmissionApproved(
        submission_id=submission.submission_id,
        quest_id=submission.quest_id,
        task_id=submission.task_id,
    )


def evidence_items(
    tasks: tuple[EvidenceTask, ...], approved: dict[uuid.UUID, Submission], page_url: str
) -> tuple[EvidenceItem, ...]:
    items = []
    for task in tasks:
        submission = approved[task.task_id]
        shown: Any = submission.text or submission.url or f"file {submission.file_name}"
        items.append(EvidenceItem(narrative=f"{task.title}: {shown}", url=page_url))
    return tuple(items)
