"""Learners' and reviewers' commands: take the quest's lock, check, append."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from aiokafka.errors import KafkaError

from contracts import new_envelope
from contracts.evidence import (
    EvidenceSubmitted,
    FileRef,
    QuestStarted,
    ReviewRecorded,
    ReviewRequested,
    SignInAsked,
)
from services.evidence.adapters import read_models
from services.evidence.domain.model import (
    Quest,
    check_can_submit,
    check_evidence,
    check_feedback,
    check_reviewer,
    review_role_for,
)
from services.kernel.errors import Conflict, DomainError, Forbidden, NotFound
from services.kernel.runtime import ServiceRuntime
from services.kernel.unit_of_work import UnitOfWork


class LinkExpired(DomainError):
    status_code = 410


class Unavailable(DomainError):
    status_code = 503


# How long a sign-in ask waits for Kafka before the learner is told to try again.
APPEND_TIMEOUT_SECONDS = 10


async def start_quest(runtime: ServiceRuntime, offer_id: uuid.UUID) -> Quest:
    """Start the learner's quest for an offer, or find it again.

    A new quest's id is random (it names a public evidence page, so it must not follow from
    the offer, whose id can follow from an email); it is in QuestStarted, so replay keeps it.
    """
    now = datetime.now(UTC)

    async def work(uow: UnitOfWork) -> Quest:
        # One start at a time per offer: two clicks find or make the same quest.
        await uow.conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"quest-start:{offer_id}"
        )
        offer = await read_models.offer(uow.conn, offer_id)
        if offer is not None and offer["expires_at"] is not None and offer["expires_at"] <= now:
            raise LinkExpired(
                "This link has expired. Ask for a fresh sign-in link below if your quest "
                "is under way, or ask the organisers for a new badge link."
            )
        found = await read_models.quest_for_offer(uow.conn, offer_id)
        if found is not None:
            return found
        badge = await read_models.badge(uow.conn, offer["badge_class_id"]) if offer else None
        if offer is None or badge is None:
            raise NotFound("This link does not lead to a badge.")
        if badge["evidence_mode"] == "none":
            raise Conflict("This badge asks for no evidence: accept it from your email's link.")
        quest_id = uuid.uuid4()
        version = await uow.lock_stream(quest_id)
        event = QuestStarted(
            quest_id=quest_id,
            badge_class_id=badge["badge_class_id"],
            issuer_id=badge["issuer_id"],
            offer_id=offer_id,
            learner_email=offer["email"],
            badge_name=badge["name"],
            evidence_mode=badge["evidence_mode"],
            tasks=badge["tasks"],
            peer_approvals=badge["peer_approvals"],
        )
        await uow.emit(
            new_envelope(event, stream_id=quest_id, stream_version=version + 1, actor="learner")
        )
        started = await read_models.quest(uow.conn, quest_id)
        assert started is not None
        return started

    return await runtime.execute(work)


async def request_sign_in(runtime: ServiceRuntime, email: str) -> None:
    """Append the ask and answer. It goes straight to the log, not through a unit of work:
    the consumer applies it there, finding the address's quests and mailing a link to each,
    so the request does the same work, one append, whether the address is known or not."""
    ask = new_envelope(
        SignInAsked(learner_email=email), stream_id=uuid.uuid4(), stream_version=1, actor="learner"
    )
    try:
        await asyncio.wait_for(runtime.publisher.publish(ask), APPEND_TIMEOUT_SECONDS)
    except (KafkaError, TimeoutError) as error:
        raise Unavailable("We cannot take requests just now. Try again in a minute.") from error


async def submit(
    runtime: ServiceRuntime,
    quest_id: uuid.UUID,
    learner: str,
    task_id: uuid.UUID,
    *,
    text: str | None,
    url: str | None,
    file: FileRef | None,
    keep_file: Callable[[], None] | None = None,
) -> uuid.UUID:
    """`keep_file` moves an uploaded file into the store; it runs only once every check has
    passed, so a refused submission leaves nothing on disk."""
    submission_id = uuid.uuid4()

    async def work(uow: UnitOfWork) -> uuid.UUID:
        version = await uow.lock_stream(quest_id)
        quest = await read_models.quest(uow.conn, quest_id)
        if quest is None or quest.learner_email != learner:
            raise Forbidden("this quest belongs to someone else; open it from your own email")
        task = next((t for t in quest.tasks if t.task_id == task_id), None)
        if task is None:
            raise NotFound("this quest has no such task")
        if quest.completed:
            raise Conflict("this quest is complete")
        latest = await read_models.latest_submissions(uow.conn, quest_id)
        existing = latest.get(task_id)
        check_can_submit(
            await read_models.submission(uow.conn, existing["submission_id"]) if existing else None
        )
        check_evidence(
            task, text, url, (file.filename, file.media_type, file.size) if file else None
        )
        events: list[EvidenceSubmitted | ReviewRequested] = [
            EvidenceSubmitted(
                submission_id=submission_id,
                quest_id=quest_id,
                task_id=task_id,
                kind=task.kind,
                text=text if task.kind == "text" else None,
                url=url.strip() if task.kind == "url" and url else None,
                file=file if task.kind == "file" else None,
            )
        ]
        mode = quest.evidence_mode
        if mode in ("peer", "organiser"):
            peers = sorted(
                (await read_models.reviewers_for(uow.conn, quest.badge_class_id)) - {learner}
            )
            role = review_role_for(mode, len(peers), quest.peer_approvals)
            reviewers = (
                peers
                if role == "peer"
                else await read_models.organiser_emails(uow.conn, quest.issuer_id)
            )
            events.append(
                ReviewRequested(
                    submission_id=submission_id,
                    quest_id=quest_id,
                    role="peer" if role == "peer" else "organiser",
                    reviewers=tuple(reviewers),
                    badge_name=quest.badge_name,
                    task_title=task.title,
                )
            )
        if file is not None and task.kind == "file" and keep_file is not None:
            keep_file()
        for offset, event in enumerate(events, start=1):
            await uow.emit(
                new_envelope(
                    event, stream_id=quest_id, stream_version=version + offset, actor="learner"
                )
            )
        return submission_id

    return await runtime.execute(work)


async def review(
    runtime: ServiceRuntime,
    submission_id: uuid.UUID,
    reviewer: str,
    role: Literal["self", "peer", "organiser"] | None,
    verdict: Literal["approve", "reject"],
    feedback: str,
    organisation_id: uuid.UUID | None = None,
) -> None:
    """Record a review; the decision it brings (approval, rejection) follows in the same turn.

    `role` None is a review through an emailed link: the submission says who reviews it (its
    peers, or the organisers), and the link's address must be one of them.
    """
    check_feedback(verdict, feedback)

    async def work(uow: UnitOfWork) -> None:
        found = await read_models.submission(uow.conn, submission_id)
        if found is None:
            raise NotFound("submission not found")
        version = await uow.lock_stream(found.quest_id)
        submission = await read_models.submission(uow.conn, submission_id)
        quest = await read_models.quest(uow.conn, found.quest_id)
        assert submission is not None and quest is not None
        expected = submission.review_role or quest.evidence_mode
        acting = role
        acting_for = organisation_id
        if acting is None:  # an emailed review link
            if expected == "organiser":
                organisers = await read_models.organiser_emails(uow.conn, quest.issuer_id)
                if reviewer not in organisers:
                    raise Forbidden("only the organisers of this badge can review this evidence")
                acting, acting_for = "organiser", quest.issuer_id
            else:
                acting = "peer"
        if acting != expected:
            raise Forbidden(f"this evidence is reviewed by the {_who(expected)}, not by {acting}")
        if acting == "self" and reviewer != quest.learner_email:
            raise Forbidden("only the learner can confirm their own evidence")
        if acting == "organiser" and quest.issuer_id != acting_for:
            raise Forbidden("this submission is for another organisation's badge")
        if acting == "peer":
            allowed = await read_models.reviewers_for(uow.conn, quest.badge_class_id)
            earlier = await read_models.reviews(uow.conn, submission_id)
            check_reviewer(quest, reviewer, allowed, earlier, submission)
        elif submission.status != "pending":
            raise Conflict("this submission has already been decided")
        event = ReviewRecorded(
            review_id=uuid.uuid4(),
            submission_id=submission_id,
            quest_id=quest.quest_id,
            reviewer=reviewer,
            role=acting,
            verdict=verdict,
            feedback=feedback,
        )
        await uow.emit(
            new_envelope(event, stream_id=quest.quest_id, stream_version=version + 1, actor=acting)
        )

    await runtime.execute(work)


def _who(role: str) -> str:
    return {"self": "learner", "peer": "peers", "organiser": "organisers"}.get(role, role)
