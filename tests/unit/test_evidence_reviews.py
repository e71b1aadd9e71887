"""Who may review a submission (`decide_review`), what a recorded review settles
(`decide_review_outcome`) and when a quest is done (`decide_completion`): each refusal and each
outcome."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from contracts.evidence import (
    QuestCompleted,
    ReviewRecorded,
    ReviewRequested,
    SubmissionApproved,
    SubmissionRejected,
)
from services.evidence.domain.quests import (
    FeedbackRequired,
    RecordReview,
    decide_completion,
    decide_review,
    decide_review_outcome,
)
from services.kernel.errors import Conflict, Forbidden, NotFound
from tests.unit.evidence_quest_log import ESSAY, LEARNER, LINK, QuestLog

PEER, OTHER_PEER, ORGANISER = "peer@example.org", "peer2@example.org", "org@example.org"
PEERS = {PEER, OTHER_PEER}


def record(
    submission_id: uuid.UUID,
    reviewer: str,
    role: str | None,
    verdict: str = "approve",
    feedback: str = "",
    organisation_id: uuid.UUID | None = None,
) -> RecordReview:
    return RecordReview(
        review_id=uuid.uuid4(),
        submission_id=submission_id,
        reviewer=reviewer,
        role=role,  # type: ignore[arg-type]
        verdict=verdict,  # type: ignore[arg-type]
        feedback=feedback,
        organisation_id=organisation_id,
    )


def decide(log: QuestLog, command: RecordReview) -> ReviewRecorded:
    [recorded] = decide_review(command, log.quest, reviewers=PEERS, organisers=[ORGANISER])
    return recorded


def fell_to_organisers(log: QuestLog, submission_id: uuid.UUID) -> None:
    log.append(
        ReviewRequested(
            submission_id=submission_id,
            quest_id=log.quest_id,
            role="organiser",
            reviewers=(ORGANISER,),
            badge_name="Welding",
            task_title=ESSAY.title,
        )
    )


# -- decide_review: who may review -------------------------------------------------------------


def test_the_learner_confirms_their_own_self_reviewed_evidence():
    log = QuestLog(mode="self")
    submission = log.submit()
    command = record(submission, LEARNER, "self")
    assert decide(log, command) == ReviewRecorded(
        review_id=command.review_id,
        submission_id=submission,
        quest_id=log.quest_id,
        reviewer=LEARNER,
        role="self",
        verdict="approve",
    )


def test_nobody_else_confirms_self_reviewed_evidence():
    log = QuestLog(mode="self")
    submission = log.submit()
    with pytest.raises(Forbidden, match="only the learner"):
        decide(log, record(submission, PEER, "self"))


def test_a_holder_or_invited_peer_reviews_through_the_emailed_link():
    log = QuestLog(mode="peer")
    submission = log.submit()
    recorded = decide(log, record(submission, PEER, None, "reject", "Add a photo."))
    assert recorded.role == "peer" and recorded.verdict == "reject"
    assert recorded.feedback == "Add a photo."


def test_a_peer_never_reviews_their_own_work_only_if_allowed_and_once():
    log = QuestLog(mode="peer")
    submission = log.submit()
    with pytest.raises(Forbidden, match="your own work"):
        decide(log, record(submission, LEARNER, None))
    with pytest.raises(Forbidden, match="only holders of this badge and invited reviewers"):
        decide(log, record(submission, "stranger@example.org", None))
    log.review(submission, PEER)
    with pytest.raises(Conflict, match="already reviewed"):
        decide(log, record(submission, PEER, None))
    assert decide(log, record(submission, OTHER_PEER, None)).reviewer == OTHER_PEER


def test_a_decided_submission_takes_no_more_reviews():
    for mode, reviewer, role in (
        ("peer", PEER, None),
        ("self", LEARNER, "self"),
    ):
        log = QuestLog(mode=mode)
        submission = log.submit()
        log.approve(submission)
        with pytest.raises(Conflict, match="already been decided"):
            decide(log, record(submission, reviewer, role))
    log = QuestLog(mode="organiser")
    submission = log.submit()
    log.reject(submission)
    with pytest.raises(Conflict, match="already been decided"):
        decide(log, record(submission, ORGANISER, "organiser", organisation_id=log.issuer_id))


def test_an_organiser_of_the_badges_organisation_reviews_through_the_api():
    log = QuestLog(mode="organiser")
    submission = log.submit()
    command = record(submission, ORGANISER, "organiser", organisation_id=log.issuer_id)
    assert decide(log, command).role == "organiser"
    with pytest.raises(Forbidden, match="another organisation's badge"):
        decide(log, replace(command, organisation_id=uuid.uuid4()))


def test_an_organiser_reviews_through_the_emailed_link_with_one_of_their_addresses():
    log = QuestLog(mode="organiser")
    submission = log.submit()
    assert decide(log, record(submission, ORGANISER, None)).role == "organiser"
    with pytest.raises(Forbidden, match="only the organisers of this badge"):
        decide(log, record(submission, PEER, None))


def test_peer_evidence_that_fell_to_the_organisers_is_theirs_alone():
    log = QuestLog(mode="peer")
    submission = log.submit()
    fell_to_organisers(log, submission)
    assert decide(log, record(submission, ORGANISER, None)).role == "organiser"
    with pytest.raises(Forbidden, match="only the organisers"):
        decide(log, record(submission, PEER, None))


def test_a_review_in_the_wrong_role_is_refused():
    log = QuestLog(mode="peer")
    submission = log.submit()
    with pytest.raises(Forbidden, match="reviewed by the peers, not by organiser"):
        decide(log, record(submission, ORGANISER, "organiser", organisation_id=log.issuer_id))
    with pytest.raises(Forbidden, match="reviewed by the peers, not by self"):
        decide(log, record(submission, LEARNER, "self"))
    self_log = QuestLog(mode="self")
    own = self_log.submit()
    with pytest.raises(Forbidden, match="reviewed by the learner, not by peer"):
        decide(self_log, record(own, PEER, None))


def test_an_unknown_submission_is_not_found():
    log = QuestLog()
    with pytest.raises(NotFound, match="submission not found"):
        decide(log, record(uuid.uuid4(), LEARNER, "self"))
    with pytest.raises(NotFound):
        decide_review(record(uuid.uuid4(), LEARNER, "self"), None, reviewers=set(), organisers=[])


@pytest.mark.parametrize("feedback", ["", "  \n"])
def test_asking_for_changes_without_feedback_is_refused_before_anything_else(feedback: str):
    with pytest.raises(FeedbackRequired):
        decide_review(
            record(uuid.uuid4(), PEER, None, "reject", feedback),
            None,
            reviewers=set(),
            organisers=[],
        )


# -- decide_review_outcome: what a review settles ----------------------------------------------


def test_a_self_confirmation_approves_at_once():
    log = QuestLog(mode="self")
    submission = log.submit()
    review = log.review(submission, LEARNER, "self")
    assert decide_review_outcome(log.quest, review) == [
        SubmissionApproved(submission_id=submission, quest_id=log.quest_id, task_id=ESSAY.task_id)
    ]


def test_one_organiser_approval_approves():
    log = QuestLog(mode="organiser")
    submission = log.submit()
    review = log.review(submission, ORGANISER, "organiser")
    [approved] = decide_review_outcome(log.quest, review)
    assert isinstance(approved, SubmissionApproved)


def test_a_request_for_changes_returns_the_submission_with_the_feedback():
    log = QuestLog(mode="peer", peer_approvals=3)
    submission = log.submit()
    review = log.review(submission, PEER, "peer", "reject", "Add a photo.")
    assert decide_review_outcome(log.quest, review) == [
        SubmissionRejected(
            submission_id=submission,
            quest_id=log.quest_id,
            task_id=ESSAY.task_id,
            learner_email=LEARNER,
            badge_name="Welding",
            feedback="Add a photo.",
        )
    ]


def test_peer_approvals_count_until_enough_different_peers_approved():
    log = QuestLog(mode="peer", peer_approvals=2)
    submission = log.submit()
    first = log.review(submission, PEER)
    assert decide_review_outcome(log.quest, first) == []
    again = log.review(submission, PEER)  # the same peer twice counts once
    assert decide_review_outcome(log.quest, again) == []
    second = log.review(submission, OTHER_PEER)
    [approved] = decide_review_outcome(log.quest, second)
    assert isinstance(approved, SubmissionApproved)


def test_a_second_vote_or_the_learners_own_settles_nothing():
    log = QuestLog(mode="peer", peer_approvals=1)
    submission = log.submit()
    own = log.review(submission, LEARNER, "peer", "reject", "No.")
    assert decide_review_outcome(log.quest, own) == []
    log.review(submission, PEER, "peer", "approve")
    twice = log.review(submission, PEER, "peer", "reject", "Changed my mind.")
    assert decide_review_outcome(log.quest, twice) == []


def test_a_review_of_a_decided_submission_settles_nothing():
    log = QuestLog(mode="organiser")
    submission = log.submit()
    log.approve(submission)
    late = log.review(submission, ORGANISER, "organiser", "reject", "Too late.")
    assert decide_review_outcome(log.quest, late) == []


def test_a_review_of_an_unknown_submission_is_an_error_in_the_log():
    log = QuestLog()
    stray = ReviewRecorded(
        review_id=uuid.uuid4(),
        submission_id=uuid.uuid4(),
        quest_id=log.quest_id,
        reviewer=LEARNER,
        role="self",
        verdict="approve",
    )
    with pytest.raises(ValueError, match="unknown submission"):
        decide_review_outcome(log.quest, stray)


# -- decide_completion: when a quest is done ---------------------------------------------------

PAGE = "https://evidence.example/evidence/q"


def test_a_quest_completes_when_every_tasks_latest_submission_is_approved():
    log = QuestLog(tasks=(ESSAY, LINK))
    essay = log.submit(ESSAY, "How I weld.")
    log.approve(essay)
    assert decide_completion(log.quest, PAGE) == []  # the link is still to come
    link = log.submit(LINK)
    assert decide_completion(log.quest, PAGE) == []  # waiting for review
    log.approve(link, LINK)
    [completed] = decide_completion(log.quest, PAGE)
    assert completed == QuestCompleted(
        quest_id=log.quest_id,
        badge_class_id=log.badge_class_id,
        offer_id=log.offer_id,
        learner_email=LEARNER,
        evidence=completed.evidence,
    )
    assert [(item.narrative, item.url) for item in completed.evidence] == [
        ("An essay: How I weld.", PAGE),
        ("Your project: https://example.org/work", PAGE),
    ]


def test_only_the_latest_submission_of_a_task_counts():
    log = QuestLog()
    returned = log.submit(text="First try.")
    log.reject(returned)
    assert decide_completion(log.quest, PAGE) == []
    again = log.submit(text="Second try.")
    log.approve(again)
    [completed] = decide_completion(log.quest, PAGE)
    assert completed.evidence[0].narrative == "An essay: Second try."


def test_a_quest_completes_once_and_no_quest_never():
    log = QuestLog()
    log.approve(log.submit())
    [completed] = decide_completion(log.quest, PAGE)
    log.append(completed)
    assert decide_completion(log.quest, PAGE) == []
    assert decide_completion(None, PAGE) == []
