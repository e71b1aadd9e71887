"""The evidence service's policies, run as the consumer runs them: a review settles its
submission, the last approval completes the quest, a sign-in ask mails a link per quest.

`QuestPolicyContract` holds the cases; here they run on the in-memory unit of work, the quests
kept by the domain's `evolve`; tests/integration/test_evidence_policies.py runs the same cases
on PostgreSQL with the service's real registry."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, Protocol

import pytest

from contracts import Envelope, derived_id, new_envelope
from contracts.evidence import (
    TOPIC,
    QuestCompleted,
    SignInAsked,
    SignInRequested,
    SubmissionApproved,
    SubmissionRejected,
)
from services.evidence.adapters.in_memory import InMemoryQuests
from services.evidence.handlers import policies
from services.evidence.policies import QuestPolicies
from services.kernel.handlers import Handlers
from services.kernel.in_memory import InMemoryUnitOfWork
from tests.unit.evidence_quest_log import ESSAY, LEARNER, LINK, STARTED, QuestLog

PUBLIC_URL = "https://evidence.example/"


class Store(Protocol):
    """Where the policies run: takes events as the consumer does, records what they emit."""

    emitted: list[Envelope[Any]]

    async def receive(self, envelope: Envelope[Any]) -> bool: ...


class QuestPolicyContract:
    """The cases; a subclass gives the `store` fixture."""

    async def test_a_self_confirmation_approves_and_completes_the_quest(self, store: Store):
        log = QuestLog(mode="self")
        log.submit()
        log.review(log.quest.submissions[0].submission_id, LEARNER, "self")
        for envelope in log.envelopes:
            assert await store.receive(envelope)

        approved, completed = store.emitted
        review = log.envelopes[-1]
        assert isinstance(approved.payload, SubmissionApproved)
        assert approved.event_id == derived_id(review.event_id, "ReviewDecision")
        assert (approved.stream_id, approved.stream_version) == (log.quest_id, 4)
        assert approved.causation_id == review.event_id
        assert approved.occurred_at == review.occurred_at
        assert isinstance(completed.payload, QuestCompleted)
        assert completed.event_id == derived_id(log.quest_id, "QuestCompleted")
        assert completed.stream_version == 5
        [item] = completed.payload.evidence
        assert item.url == f"https://evidence.example/evidence/{log.quest_id}"
        assert item.narrative == "An essay: How I weld."

    async def test_peer_approvals_count_until_enough_then_the_quest_completes(self, store: Store):
        log = QuestLog(mode="peer", peer_approvals=2)
        submission = log.submit()
        log.review(submission, "a@example.org")
        log.review(submission, "a@example.org")  # the same peer again: not a second vote
        for envelope in log.envelopes:
            await store.receive(envelope)
        assert store.emitted == []

        log.review(submission, "b@example.org")
        await store.receive(log.envelopes[-1])
        assert [type(e.payload) for e in store.emitted] == [SubmissionApproved, QuestCompleted]

    async def test_a_request_for_changes_returns_the_evidence_and_completes_nothing(
        self, store: Store
    ):
        log = QuestLog(mode="organiser", tasks=(LINK,))
        submission = log.submit(LINK)
        log.review(submission, "org@example.org", "organiser", "reject", "Link your code.")
        for envelope in log.envelopes:
            await store.receive(envelope)
        [rejected] = store.emitted
        assert isinstance(rejected.payload, SubmissionRejected)
        assert rejected.payload.feedback == "Link your code."
        assert not await store.receive(log.envelopes[-1])  # redelivered: applied once
        assert len(store.emitted) == 1

    async def test_one_approved_task_of_two_does_not_complete_the_quest(self, store: Store):
        log = QuestLog(mode="self", tasks=(LINK, ESSAY))
        submission = log.submit(LINK)
        log.review(submission, LEARNER, "self")
        for envelope in log.envelopes:
            await store.receive(envelope)
        assert [type(e.payload) for e in store.emitted] == [SubmissionApproved]

    async def test_a_sign_in_ask_mails_a_link_to_each_quest_started_before_it(self, store: Store):
        first = QuestLog(started=STARTED)
        second = QuestLog(started=STARTED + timedelta(minutes=1))
        later = QuestLog(started=STARTED + timedelta(hours=1))
        other = QuestLog(learner="other@example.org")
        for log in (first, second, later, other):
            await store.receive(log.envelopes[0])
        ask = new_envelope(
            SignInAsked(learner_email=LEARNER),
            stream_id=uuid.uuid4(),
            stream_version=1,
            occurred_at=STARTED + timedelta(minutes=30),
            actor="learner",
        )
        await store.receive(ask)

        assert [e.payload for e in store.emitted] == [
            SignInRequested(quest_id=log.quest_id, learner_email=LEARNER, badge_name="Welding")
            for log in (first, second)
        ]
        for log, link in zip((first, second), store.emitted, strict=True):
            assert link.event_id == derived_id(ask.event_id, f"SignInRequested:{log.quest_id}")
            assert (link.stream_id, link.stream_version) == (log.quest_id, 2)

    async def test_a_replay_of_the_whole_log_decides_the_same_events(
        self, store: Store, another_store: Store
    ):
        log = QuestLog(mode="peer", peer_approvals=1)
        submission = log.submit()
        log.review(submission, "a@example.org")
        for envelope in log.envelopes:
            await store.receive(envelope)
        # The log as it now is: the inputs and what was decided on them, in order.
        replayed = [*log.envelopes, *store.emitted]
        for envelope in replayed:
            await another_store.receive(envelope)
        assert [e.event_id for e in another_store.emitted] == [e.event_id for e in store.emitted]
        assert another_store.emitted == store.emitted


def in_memory_store() -> InMemoryUnitOfWork:
    quests = InMemoryQuests()
    handlers = (
        Handlers()
        .include(quests.projections())
        .include(policies(QuestPolicies(lambda _: quests, PUBLIC_URL)))
    )
    return InMemoryUnitOfWork(handlers, own_topic=TOPIC)


class TestInMemory(QuestPolicyContract):
    @pytest.fixture
    def store(self) -> Store:
        return in_memory_store()

    @pytest.fixture
    def another_store(self) -> Store:
        return in_memory_store()
