"""A quest's state from its events (every event of a quest), and the rules for starting a quest
and submitting evidence: each refusal and each outcome."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from contracts import new_envelope
from contracts.evidence import (
    EvidenceSubmitted,
    FileRef,
    QuestCompleted,
    QuestStarted,
    ReviewRequested,
    SignInAsked,
    SignInRequested,
)
from services.evidence.domain.badges import Badge, Offer
from services.evidence.domain.quests import (
    LinkExpired,
    OfferNotHereYet,
    StartQuest,
    SubmitEvidence,
    check_start_link,
    decide_start_quest,
    decide_submission,
    evolve,
)
from services.kernel.errors import BadRequest, Conflict, Forbidden, NotFound
from tests.unit.evidence_quest_log import ESSAY, LEARNER, LINK, PHOTO, STARTED, QuestLog

# -- evolve ------------------------------------------------------------------------------------


def test_a_started_quest_holds_the_badge_rules_it_started_with():
    log = QuestLog(mode="peer", tasks=(ESSAY, LINK), peer_approvals=2)
    quest = log.quest
    assert (quest.quest_id, quest.learner_email, quest.badge_name) == (
        log.quest_id,
        LEARNER,
        "Welding",
    )
    assert quest.evidence_mode == "peer" and quest.peer_approvals == 2
    assert quest.tasks == (ESSAY, LINK) and quest.started_at == STARTED
    assert not quest.completed and quest.submissions == ()


def test_evidence_then_its_review_role_reviews_and_decision_build_the_submission():
    log = QuestLog(mode="peer")
    first = log.submit()
    log.append(
        ReviewRequested(
            submission_id=first,
            quest_id=log.quest_id,
            role="organiser",
            reviewers=("organiser@example.org",),
            badge_name="Welding",
            task_title=ESSAY.title,
        )
    )
    recorded = log.review(first, "organiser@example.org", "organiser", "reject", "Add a photo.")
    log.reject(first)
    second = log.submit(text="Again, with a photo.")
    log.review(second, "organiser@example.org", "organiser")
    log.approve(second)

    quest = log.quest
    returned, approved = quest.submissions
    assert returned.submission_id == first and returned.status == "rejected"
    assert returned.review_role == "organiser" and returned.feedback == "Add a photo."
    assert [r.review_id for r in returned.reviews] == [recorded.review_id]
    assert returned.reviews[0].verdict == "reject"
    assert approved.status == "approved" and approved.text == "Again, with a photo."
    assert approved.review_role is None and approved.feedback == ""
    assert quest.latest(ESSAY.task_id) == approved


def test_a_file_submission_keeps_the_file_name():
    log = QuestLog(tasks=(PHOTO,))
    submission_id = uuid.uuid4()
    log.append(
        EvidenceSubmitted(
            submission_id=submission_id,
            quest_id=log.quest_id,
            task_id=PHOTO.task_id,
            kind="file",
            file=FileRef(sha256="a" * 64, size=10, media_type="image/png", filename="me.png"),
        )
    )
    assert log.quest.submission(submission_id).file_name == "me.png"  # type: ignore[union-attr]


def test_completion_marks_the_quest_done_and_a_sign_in_link_changes_nothing():
    log = QuestLog()
    before = log.quest
    log.append(SignInRequested(quest_id=log.quest_id, learner_email=LEARNER, badge_name="W"))
    assert log.quest == before
    log.append(
        QuestCompleted(
            quest_id=log.quest_id,
            badge_class_id=log.badge_class_id,
            offer_id=log.offer_id,
            learner_email=LEARNER,
            evidence=(),
        )
    )
    assert log.quest.completed


def test_events_before_the_start_or_of_another_kind_are_refused():
    log = QuestLog()
    submitted = QuestLog()
    submitted.submit()
    with pytest.raises(ValueError, match="never started"):
        evolve(None, submitted.envelopes[1])
    quest = submitted.quest
    submitted.approve(uuid.uuid4())
    with pytest.raises(ValueError, match="no submission"):
        evolve(quest, submitted.envelopes[-1])
    ask = new_envelope(
        SignInAsked(learner_email=LEARNER), stream_id=uuid.uuid4(), stream_version=1, actor="t"
    )
    with pytest.raises(ValueError, match="not an event of a quest"):
        evolve(log.quest, ask)


# -- starting a quest --------------------------------------------------------------------------

BADGE = Badge(
    badge_class_id=uuid.uuid4(),
    issuer_id=uuid.uuid4(),
    name="Welding",
    criteria="Weld safely.",
    evidence_mode="peer",
    tasks=(ESSAY,),
    peer_approvals=2,
)
OFFER = Offer(uuid.uuid4(), BADGE.badge_class_id, LEARNER, STARTED + timedelta(days=90))
START = StartQuest(offer_id=OFFER.offer_id, quest_id=uuid.uuid4(), now=STARTED)


def test_an_offer_starts_a_quest_with_the_badges_rules_as_they_are_now():
    [started] = decide_start_quest(START, OFFER, BADGE, None)
    assert started == QuestStarted(
        quest_id=START.quest_id,
        badge_class_id=BADGE.badge_class_id,
        issuer_id=BADGE.issuer_id,
        offer_id=OFFER.offer_id,
        learner_email=LEARNER,
        badge_name="Welding",
        evidence_mode="peer",
        tasks=(ESSAY,),
        peer_approvals=2,
    )


def test_a_quest_under_way_is_found_again_not_started_twice():
    assert decide_start_quest(START, OFFER, BADGE, QuestLog().quest) == []


def test_an_expired_link_starts_nothing_and_resumes_nothing():
    expired = replace(OFFER, expires_at=STARTED)
    for existing in (None, QuestLog().quest):
        with pytest.raises(LinkExpired, match="expired"):
            decide_start_quest(START, expired, BADGE, existing)
    with pytest.raises(LinkExpired):
        check_start_link(expired, BADGE, STARTED)
    check_start_link(OFFER, BADGE, STARTED)
    check_start_link(replace(OFFER, expires_at=None), BADGE, STARTED)


def test_a_signed_link_whose_offer_or_badge_is_not_read_yet_asks_to_try_again():
    for offer, badge in ((None, BADGE), (OFFER, None), (None, None)):
        with pytest.raises(OfferNotHereYet, match="on its way") as refused:
            decide_start_quest(START, offer, badge, None)
        assert refused.value.retry_after > 0
        with pytest.raises(OfferNotHereYet):
            check_start_link(offer, badge, STARTED)


def test_a_badge_without_evidence_starts_no_quest():
    with pytest.raises(Conflict, match="asks for no evidence"):
        decide_start_quest(START, OFFER, replace(BADGE, evidence_mode="none"), None)


# -- submitting evidence -----------------------------------------------------------------------


def submit(log: QuestLog, task_id: uuid.UUID = ESSAY.task_id, **fields: object) -> SubmitEvidence:
    values: dict[str, object] = {"text": "How I weld.", "url": None, "file": None}
    values.update(fields)
    return SubmitEvidence(
        submission_id=uuid.uuid4(),
        quest_id=log.quest_id,
        learner=str(values.pop("learner", LEARNER)),
        task_id=task_id,
        **values,  # type: ignore[arg-type]
    )


def test_self_reviewed_evidence_asks_nobody():
    log = QuestLog()
    command = submit(log)
    [submitted] = decide_submission(command, log.quest, reviewers=set(), organisers=[])
    assert submitted == EvidenceSubmitted(
        submission_id=command.submission_id,
        quest_id=log.quest_id,
        task_id=ESSAY.task_id,
        kind="text",
        text="How I weld.",
    )


def test_only_what_the_task_asks_for_is_kept_and_addresses_are_trimmed():
    log = QuestLog(tasks=(LINK,))
    command = submit(log, LINK.task_id, text="ignored", url="  https://example.org/x  ")
    [submitted] = decide_submission(command, log.quest, reviewers=set(), organisers=[])
    assert isinstance(submitted, EvidenceSubmitted)
    assert submitted.text is None and submitted.url == "https://example.org/x"


def test_peer_evidence_asks_the_holders_and_invited_peers_but_not_the_learner():
    log = QuestLog(mode="peer", peer_approvals=2)
    peers = {"b@example.org", "a@example.org", LEARNER}
    _, asked = decide_submission(
        submit(log), log.quest, reviewers=peers, organisers=["o@example.org"]
    )
    assert isinstance(asked, ReviewRequested)
    assert asked.role == "peer" and asked.reviewers == ("a@example.org", "b@example.org")
    assert asked.task_title == ESSAY.title and asked.badge_name == "Welding"


def test_peer_evidence_with_too_few_peers_goes_to_the_organisers():
    log = QuestLog(mode="peer", peer_approvals=2)
    _, asked = decide_submission(
        submit(log), log.quest, reviewers={"a@example.org", LEARNER}, organisers=["o@example.org"]
    )
    assert isinstance(asked, ReviewRequested)
    assert asked.role == "organiser" and asked.reviewers == ("o@example.org",)


def test_organiser_evidence_asks_the_organisers():
    log = QuestLog(mode="organiser")
    _, asked = decide_submission(
        submit(log), log.quest, reviewers={"a@example.org"}, organisers=["o@example.org"]
    )
    assert isinstance(asked, ReviewRequested)
    assert asked.role == "organiser" and asked.reviewers == ("o@example.org",)


def test_evidence_for_someone_elses_quest_or_no_quest_is_refused():
    log = QuestLog()
    for quest in (None, log.quest):
        with pytest.raises(Forbidden, match="belongs to someone else"):
            decide_submission(
                submit(log, learner="other@example.org"), quest, reviewers=set(), organisers=[]
            )


def test_evidence_for_no_such_task_or_a_done_quest_is_refused():
    log = QuestLog()
    with pytest.raises(NotFound, match="no such task"):
        decide_submission(submit(log, uuid.uuid4()), log.quest, reviewers=set(), organisers=[])
    done = replace(log.quest, completed=True)
    with pytest.raises(Conflict, match="complete"):
        decide_submission(submit(log), done, reviewers=set(), organisers=[])


def test_a_task_waiting_for_review_or_approved_takes_no_more_but_a_returned_one_does():
    log = QuestLog()
    first = log.submit()
    with pytest.raises(Conflict, match="waiting for review"):
        decide_submission(submit(log), log.quest, reviewers=set(), organisers=[])
    log.reject(first)
    assert decide_submission(submit(log), log.quest, reviewers=set(), organisers=[])
    second = log.submit()
    log.approve(second)
    with pytest.raises(Conflict, match="already approved"):
        decide_submission(submit(log), log.quest, reviewers=set(), organisers=[])


@pytest.mark.parametrize(
    ("task", "fields", "problem"),
    [
        (ESSAY, {"text": "   "}, "asks for text"),
        (ESSAY, {"text": "x" * 101}, "longer than 100 characters"),
        (LINK, {"text": None, "url": "javascript:alert(1)"}, "web address"),
        (LINK, {"text": None, "url": None}, "web address"),
        (PHOTO, {"text": None}, "asks for a file"),
    ],
)
def test_evidence_that_does_not_fit_the_task_is_refused(task, fields, problem):
    log = QuestLog(tasks=(task,))
    with pytest.raises(BadRequest, match=problem):
        decide_submission(
            submit(log, task.task_id, **fields), log.quest, reviewers=set(), organisers=[]
        )


def test_a_file_is_judged_by_its_type_and_size():
    log = QuestLog(tasks=(PHOTO,))
    png = FileRef(sha256="a" * 64, size=100, media_type="image/png", filename="me.png")
    [submitted] = decide_submission(
        submit(log, PHOTO.task_id, text=None, file=png), log.quest, reviewers=set(), organisers=[]
    )
    assert isinstance(submitted, EvidenceSubmitted) and submitted.file == png
    program = replace_file(png, media_type="application/x-msdownload")
    with pytest.raises(BadRequest, match="a Windows program"):
        decide_submission(
            submit(log, PHOTO.task_id, text=None, file=program),
            log.quest,
            reviewers=set(),
            organisers=[],
        )


def replace_file(file: FileRef, **changes: object) -> FileRef:
    return file.model_copy(update=changes)
