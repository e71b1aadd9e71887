"""Quests, their submissions and reviews: the state each quest's events build, and every rule
on it (starting, submitting, who may review, what a review settles, when a quest is done).

Decided by the quest's writer under the quest's lock, in log order, so a replay reaches the
same decisions: one vote per reviewer counts, never the submitter's, and a quest completes once.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from contracts import Envelope
from contracts.badge import EvidenceItem, EvidenceTask
from contracts.evidence import (
    EvidenceSubmitted,
    FileRef,
    QuestCompleted,
    QuestStarted,
    ReviewRecorded,
    ReviewRequested,
    ReviewRole,
    SignInRequested,
    SubmissionApproved,
    SubmissionRejected,
)
from services.evidence.domain.badges import Badge, Offer
from services.evidence.domain.limits import media_types_said, size_said
from services.kernel.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    ServiceUnavailable,
)

SAFE_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)

SubmissionStatus = Literal["pending", "approved", "rejected"]


@dataclass(frozen=True)
class Review:
    review_id: uuid.UUID
    reviewer: str
    role: str
    verdict: str


@dataclass(frozen=True)
class Submission:
    submission_id: uuid.UUID
    quest_id: uuid.UUID
    task_id: uuid.UUID
    kind: str
    text: str | None
    url: str | None
    file_name: str | None
    status: SubmissionStatus = "pending"
    # Who reviews it, as decided when it was submitted (None: the quest's own mode).
    review_role: str | None = None
    feedback: str = ""
    reviews: tuple[Review, ...] = ()  # in the order recorded


@dataclass(frozen=True)
class Quest:
    quest_id: uuid.UUID
    badge_class_id: uuid.UUID
    issuer_id: uuid.UUID
    offer_id: uuid.UUID
    learner_email: str
    badge_name: str
    evidence_mode: str
    tasks: tuple[EvidenceTask, ...]
    peer_approvals: int
    started_at: datetime
    completed: bool = False
    submissions: tuple[Submission, ...] = ()  # in the order submitted
    # The badge awarded for it (learnt from the badge service; its page links it).
    assertion_id: uuid.UUID | None = None

    def task(self, task_id: uuid.UUID) -> EvidenceTask | None:
        return next((t for t in self.tasks if t.task_id == task_id), None)

    def submission(self, submission_id: uuid.UUID) -> Submission | None:
        return next((s for s in self.submissions if s.submission_id == submission_id), None)

    def latest(self, task_id: uuid.UUID) -> Submission | None:
        """The task's latest submission: the one that counts."""
        return next((s for s in reversed(self.submissions) if s.task_id == task_id), None)


# -- state from events -------------------------------------------------------------------------


def evolve(state: Quest | None, envelope: Envelope[Any]) -> Quest:
    """The quest after one of its events (every event on a quest's stream)."""
    event = envelope.payload
    if isinstance(event, QuestStarted):
        return Quest(
            quest_id=event.quest_id,
            badge_class_id=event.badge_class_id,
            issuer_id=event.issuer_id,
            offer_id=event.offer_id,
            learner_email=event.learner_email,
            badge_name=event.badge_name,
            evidence_mode=event.evidence_mode,
            tasks=tuple(event.tasks),
            peer_approvals=event.peer_approvals,
            started_at=envelope.occurred_at,
        )
    if state is None:
        raise ValueError(f"{envelope.event_type} for a quest that never started")
    if isinstance(event, EvidenceSubmitted):
        submitted = Submission(
            submission_id=event.submission_id,
            quest_id=event.quest_id,
            task_id=event.task_id,
            kind=event.kind,
            text=event.text,
            url=event.url,
            file_name=event.file.filename if event.file else None,
        )
        return replace(state, submissions=(*state.submissions, submitted))
    if isinstance(event, ReviewRequested):
        return _with_submission(state, event.submission_id, review_role=event.role)
    if isinstance(event, ReviewRecorded):
        found = _submission(state, event.submission_id)
        review = Review(event.review_id, event.reviewer, event.role, event.verdict)
        return _with_submission(state, event.submission_id, reviews=(*found.reviews, review))
    if isinstance(event, SubmissionApproved):
        return _with_submission(state, event.submission_id, status="approved")
    if isinstance(event, SubmissionRejected):
        return _with_submission(
            state, event.submission_id, status="rejected", feedback=event.feedback
        )
    if isinstance(event, QuestCompleted):
        return replace(state, completed=True)
    if isinstance(event, SignInRequested):
        return state  # a link mailed: the quest itself is as it was
    raise ValueError(f"{envelope.event_type} is not an event of a quest")


def _submission(state: Quest, submission_id: uuid.UUID) -> Submission:
    found = state.submission(submission_id)
    if found is None:
        raise ValueError(f"quest {state.quest_id} has no submission {submission_id}")
    return found


def _with_submission(state: Quest, submission_id: uuid.UUID, **changes: Any) -> Quest:
    _submission(state, submission_id)
    return replace(
        state,
        submissions=tuple(
            replace(s, **changes) if s.submission_id == submission_id else s
            for s in state.submissions
        ),
    )


# -- starting a quest --------------------------------------------------------------------------


class LinkExpired(Gone):
    """A quest's start link past its offer's expiry: it once worked and no longer does."""


class OfferNotHereYet(ServiceUnavailable):
    """A start link this platform signed, for an offer (or badge) this service has not read
    from the badge service's log yet: the email can reach the learner a moment before that
    (the notifier and this service read the same event, each at its own pace). Try again."""

    def __init__(self) -> None:
        super().__init__(
            "Your badge is still on its way to this page. Try the link again in a moment.",
            retry_after=2,
        )


@dataclass(frozen=True)
class StartQuest:
    offer_id: uuid.UUID
    # Random: it names a public evidence page, so it must not follow from the offer (whose id
    # can follow from an email). QuestStarted carries it, so replay keeps it.
    quest_id: uuid.UUID
    now: datetime


def check_not_expired(offer: Offer | None, now: datetime) -> None:
    if offer is not None and offer.expires_at is not None and offer.expires_at <= now:
        raise LinkExpired(
            "This link has expired. If your quest is under way, ask for a fresh sign-in link here."
        )


def check_start_link(offer: Offer | None, badge: Badge | None, now: datetime) -> None:
    """A claim link's offer leads to a quest while it has not expired. The link is one this
    platform signed (the web layer checked it), so its offer is in the log: if it is not
    here, it is on its way."""
    if offer is None or badge is None:
        raise OfferNotHereYet()
    check_not_expired(offer, now)


def decide_start_quest(
    command: StartQuest, offer: Offer | None, badge: Badge | None, existing: Quest | None
) -> list[QuestStarted]:
    """The quest for an offer, with the badge's evidence rules as they are now; nothing when
    the offer's quest is under way (it is found again)."""
    check_not_expired(offer, command.now)  # an expired link resumes no quest either
    if existing is not None:
        return []
    if offer is None or badge is None:
        raise OfferNotHereYet()
    if badge.evidence_mode == "none":
        raise Conflict("This badge asks for no evidence: accept it from your email's link.")
    return [
        QuestStarted(
            quest_id=command.quest_id,
            badge_class_id=badge.badge_class_id,
            issuer_id=badge.issuer_id,
            offer_id=command.offer_id,
            learner_email=offer.email,
            badge_name=badge.name,
            evidence_mode=badge.evidence_mode,
            tasks=badge.tasks,
            peer_approvals=badge.peer_approvals,
        )
    ]


# -- submitting evidence -----------------------------------------------------------------------


@dataclass(frozen=True)
class SubmitEvidence:
    submission_id: uuid.UUID
    quest_id: uuid.UUID
    learner: str
    task_id: uuid.UUID
    text: str | None
    url: str | None
    file: FileRef | None


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


def decide_submission(
    command: SubmitEvidence,
    quest: Quest | None,
    *,
    reviewers: set[str],
    organisers: list[str],
) -> list[EvidenceSubmitted | ReviewRequested]:
    """The evidence, and for peer or organiser review whom to ask. `reviewers` are those who
    may review the badge (its holders and invited peers); `organisers` the emails of the
    organisation that issues it."""
    if quest is None or quest.learner_email != command.learner:
        raise Forbidden("this quest belongs to someone else; open it from your own email")
    task = quest.task(command.task_id)
    if task is None:
        raise NotFound("this quest has no such task")
    if quest.completed:
        raise Conflict("this quest is complete")
    check_can_submit(quest.latest(command.task_id))
    file = command.file
    text, url = command.text, command.url
    check_evidence(task, text, url, (file.filename, file.media_type, file.size) if file else None)
    events: list[EvidenceSubmitted | ReviewRequested] = [
        EvidenceSubmitted(
            submission_id=command.submission_id,
            quest_id=quest.quest_id,
            task_id=task.task_id,
            kind=task.kind,
            text=text if task.kind == "text" else None,
            url=url.strip() if task.kind == "url" and url else None,
            file=file if task.kind == "file" else None,
        )
    ]
    if quest.evidence_mode in ("peer", "organiser"):
        peers = sorted(reviewers - {quest.learner_email})
        role = review_role_for(quest.evidence_mode, len(peers), quest.peer_approvals)
        events.append(
            ReviewRequested(
                submission_id=command.submission_id,
                quest_id=quest.quest_id,
                role="peer" if role == "peer" else "organiser",
                reviewers=tuple(peers if role == "peer" else organisers),
                badge_name=quest.badge_name,
                task_title=task.title,
            )
        )
    return events


# -- recording a review ------------------------------------------------------------------------


class FeedbackRequired(Invalid):
    """Asking for changes without saying which leaves the learner nothing to act on."""


def check_feedback(verdict: str, feedback: str) -> None:
    if verdict == "reject" and not feedback.strip():
        raise FeedbackRequired(
            "Say what the learner should change: asking for changes needs feedback."
        )


@dataclass(frozen=True)
class RecordReview:
    review_id: uuid.UUID
    submission_id: uuid.UUID
    reviewer: str
    # None: a review through an emailed link, where the submission says who reviews it.
    role: ReviewRole | None
    verdict: Literal["approve", "reject"]
    feedback: str
    # The organisation an organiser acts for (their API key's).
    organisation_id: uuid.UUID | None = None


def check_reviewer(
    quest: Quest, reviewer: str, allowed: set[str], reviews: tuple[Review, ...], status: str
) -> None:
    """A peer: never the learner, only holders of the badge and invited reviewers, once."""
    if reviewer == quest.learner_email:
        raise Forbidden("you cannot review your own work")
    if reviewer not in allowed:
        raise Forbidden("only holders of this badge and invited reviewers can review it")
    if status != "pending":
        raise Conflict("this submission has already been decided")
    if any(r.reviewer == reviewer for r in reviews):
        raise Conflict("you have already reviewed this submission")


def decide_review(
    command: RecordReview,
    quest: Quest | None,
    *,
    reviewers: set[str],
    organisers: list[str],
) -> list[ReviewRecorded]:
    """Who may review: the learner for self-approval, a holder of the badge or an invited
    reviewer for peer review, an organiser of the badge's organisation for organiser review
    (through the API, or through the emailed link with one of their addresses)."""
    check_feedback(command.verdict, command.feedback)
    submission = quest.submission(command.submission_id) if quest else None
    if quest is None or submission is None:
        raise NotFound("submission not found")
    expected = submission.review_role or quest.evidence_mode
    acting, acting_for = command.role, command.organisation_id
    if acting is None:  # an emailed review link
        if expected == "organiser":
            if command.reviewer not in organisers:
                raise Forbidden("only the organisers of this badge can review this evidence")
            acting, acting_for = "organiser", quest.issuer_id
        else:
            acting = "peer"
    if acting != expected:
        raise Forbidden(f"this evidence is reviewed by the {_who(expected)}, not by {acting}")
    if acting == "self" and command.reviewer != quest.learner_email:
        raise Forbidden("only the learner can confirm their own evidence")
    if acting == "organiser" and quest.issuer_id != acting_for:
        raise Forbidden("this submission is for another organisation's badge")
    if acting == "peer":
        check_reviewer(quest, command.reviewer, reviewers, submission.reviews, submission.status)
    elif submission.status != "pending":
        raise Conflict("this submission has already been decided")
    return [
        ReviewRecorded(
            review_id=command.review_id,
            submission_id=submission.submission_id,
            quest_id=quest.quest_id,
            reviewer=command.reviewer,
            role=acting,
            verdict=command.verdict,
            feedback=command.feedback,
        )
    ]


def _who(role: str) -> str:
    return {"self": "learner", "peer": "peers", "organiser": "organisers"}.get(role, role)


# -- what a review settles ---------------------------------------------------------------------


def decide_review_outcome(
    quest: Quest, review: ReviewRecorded
) -> list[SubmissionApproved | SubmissionRejected]:
    """What a recorded review decides, if anything. `quest` already holds the review (its
    events are applied before anything is decided on them)."""
    submission = quest.submission(review.submission_id)
    if submission is None:
        raise ValueError(f"review {review.review_id} names an unknown submission")
    if submission.status != "pending":
        return []
    earlier = [r for r in submission.reviews if r.review_id != review.review_id]
    if review.role == "peer" and (
        review.reviewer == quest.learner_email
        or any(r.reviewer == review.reviewer for r in earlier)
    ):
        return []  # never the submitter's; one vote per reviewer
    if review.verdict == "reject":
        return [
            SubmissionRejected(
                submission_id=submission.submission_id,
                quest_id=submission.quest_id,
                task_id=submission.task_id,
                learner_email=quest.learner_email,
                badge_name=quest.badge_name,
                feedback=review.feedback,
            )
        ]
    if review.role == "peer":
        approvals = {r.reviewer for r in earlier if r.role == "peer" and r.verdict == "approve"}
        if len(approvals | {review.reviewer}) < quest.peer_approvals:
            return []
    return [
        SubmissionApproved(
            submission_id=submission.submission_id,
            quest_id=submission.quest_id,
            task_id=submission.task_id,
        )
    ]


# -- when a quest is done ----------------------------------------------------------------------


def decide_completion(quest: Quest | None, page_url: str) -> list[QuestCompleted]:
    """With every task's latest submission approved, the quest is complete, once; the badge
    follows with the evidence, which `page_url` (the quest's public evidence page) shows."""
    if quest is None or quest.completed:
        return []
    approved: dict[uuid.UUID, Submission] = {}
    for task in quest.tasks:
        latest = quest.latest(task.task_id)
        if latest is None or latest.status != "approved":
            return []
        approved[task.task_id] = latest
    return [
        QuestCompleted(
            quest_id=quest.quest_id,
            badge_class_id=quest.badge_class_id,
            offer_id=quest.offer_id,
            learner_email=quest.learner_email,
            evidence=evidence_items(quest.tasks, approved, page_url),
        )
    ]


def evidence_items(
    tasks: tuple[EvidenceTask, ...], approved: dict[uuid.UUID, Submission], page_url: str
) -> tuple[EvidenceItem, ...]:
    items = []
    for task in tasks:
        submission = approved[task.task_id]
        shown: Any = submission.text or submission.url or f"file {submission.file_name}"
        items.append(EvidenceItem(narrative=f"{task.title}: {shown}", url=page_url))
    return tuple(items)
