"""Learners' and reviewers' commands: take the quest's lock, check, append."""

from __future__ import annotations

import uuid
from typing import Literal

from contracts import new_envelope
from contracts.evidence import (
    EvidenceSubmitted,
    FileRef,
    QuestStarted,
    ReviewRecorded,
    ReviewRequested,
    SignInRequested,
)
from services.evidence.adapters import read_models
from services.evidence.domain.model import (
    Quest,
    check_can_submit,
    check_evidence,
    check_reviewer,
    quest_id_for,
)
from services.kernel.errors import Conflict, Forbidden, NotFound
from services.kernel.runtime import ServiceRuntime
from services.kernel.unit_of_work import UnitOfWork


async def start_quest(runtime: ServiceRuntime, offer_id: uuid.UUID) -> Quest:
    """Start the learner's quest for an offer, or find it again."""
    quest_id = quest_id_for(offer_id)

    async def work(uow: UnitOfWork) -> Quest:
        version = await uow.lock_stream(quest_id)
        found = await read_models.quest(uow.conn, quest_id)
        if found is not None:
            return found
        offer = await read_models.offer(uow.conn, offer_id)
        badge = await read_models.badge(uow.conn, offer["badge_class_id"]) if offer else None
        if offer is None or badge is None:
            raise NotFound("This link does not lead to a badge.")
        if badge["evidence_mode"] == "none":
            raise Conflict("This badge asks for no evidence: accept it from your email's link.")
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
    """Mail a fresh link to each of the learner's open quests; nothing if there are none (the
    answer is the same either way, so addresses cannot be probed)."""

    async def work(uow: UnitOfWork) -> None:
        for quest in await read_models.quests_of(uow.conn, email):
            version = await uow.lock_stream(quest.quest_id)
            event = SignInRequested(
                quest_id=quest.quest_id, learner_email=email, badge_name=quest.badge_name
            )
            await uow.emit(
                new_envelope(
                    event, stream_id=quest.quest_id, stream_version=version + 1, actor="learner"
                )
            )

    await runtime.execute(work)


async def submit(
    runtime: ServiceRuntime,
    quest_id: uuid.UUID,
    learner: str,
    task_id: uuid.UUID,
    *,
    text: str | None,
    url: str | None,
    file: FileRef | None,
) -> uuid.UUID:
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
            reviewers = (
                sorted(
                    (await read_models.reviewers_for(uow.conn, quest.badge_class_id)) - {learner}
                )
                if mode == "peer"
                else await read_models.organiser_emails(uow.conn, quest.issuer_id)
            )
            events.append(
                ReviewRequested(
                    submission_id=submission_id,
                    quest_id=quest_id,
                    role=mode,
                    reviewers=tuple(reviewers),
                    badge_name=quest.badge_name,
                    task_title=task.title,
                )
            )
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
    role: Literal["self", "peer", "organiser"],
    verdict: Literal["approve", "reject"],
    feedback: str,
    organisation_id: uuid.UUID | None = None,
) -> None:
    """Record a review; the decision it brings (approval, rejection) follows in the same turn."""

    async def work(uow: UnitOfWork) -> None:
        found = await read_models.submission(uow.conn, submission_id)
        if found is None:
            raise NotFound("submission not found")
        version = await uow.lock_stream(found.quest_id)
        submission = await read_models.submission(uow.conn, submission_id)
        quest = await read_models.quest(uow.conn, found.quest_id)
        assert submission is not None and quest is not None
        mode = quest.evidence_mode
        if role != mode:
            raise Forbidden(f"this badge's evidence is reviewed by {mode}, not {role}")
        if role == "self" and reviewer != quest.learner_email:
            raise Forbidden("only the learner can confirm their own evidence")
        if role == "organiser" and quest.issuer_id != organisation_id:
            raise Forbidden("this submission is for another organisation's badge")
        if role == "peer":
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
            role=role,
            verdict=verdict,
            feedback=feedback,
        )
        await uow.emit(
            new_envelope(event, stream_id=quest.quest_id, stream_version=version + 1, actor=role)
        )

    await runtime.execute(work)
