"""Learners' and reviewers' commands: take the quest's lock, load what the decision needs,
decide (services.evidence.domain), append."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Literal

from aiokafka.errors import KafkaError

from contracts import Event, new_envelope
from contracts.evidence import EvidenceSubmitted, FileRef, PlaylistInvitationSent, ReviewRole
from services.evidence.adapters import read_models
from services.evidence.domain.home import (
    Inviter,
    Progress,
    decide_address_sign_in,
    decide_invitation,
    decide_recipient_name,
    follows,
    progress,
)
from services.evidence.domain.quests import (
    Quest,
    RecordReview,
    StartQuest,
    SubmitEvidence,
    check_feedback,
    decide_review,
    decide_start_quest,
    decide_submission,
    evolve,
)
from services.evidence.domain.sign_in import decide_sign_in_ask
from services.kernel.errors import NotFound, ServiceUnavailable
from services.kernel.runtime import ServiceRuntime
from services.kernel.store import Connection
from services.kernel.unit_of_work import UnitOfWork


class Unavailable(ServiceUnavailable):
    """Kafka did not take a sign-in ask in time: nothing was sent, try again."""


# How long a sign-in ask waits for Kafka before the learner is told to try again.
APPEND_TIMEOUT_SECONDS = 10


async def _append(
    uow: UnitOfWork, stream_id: uuid.UUID, version: int, events: Sequence[Event], actor: str
) -> None:
    for offset, event in enumerate(events, start=1):
        await uow.emit(
            new_envelope(event, stream_id=stream_id, stream_version=version + offset, actor=actor)
        )


async def _who_reviews(uow: UnitOfWork, quest: Quest | None) -> tuple[set[str], list[str]]:
    """Those who may review the quest's badge as peers (its holders and invited reviewers),
    and the emails of the organisation that issues it."""
    if quest is None:
        return set(), []
    return (
        await read_models.reviewers_for(uow.conn, quest.badge_class_id),
        await read_models.organiser_emails(uow.conn, quest.issuer_id),
    )


async def start_quest(runtime: ServiceRuntime, offer_id: uuid.UUID) -> Quest:
    """Start the learner's quest for an offer, or find it again."""
    command = StartQuest(offer_id=offer_id, quest_id=uuid.uuid4(), now=datetime.now(UTC))

    async def work(uow: UnitOfWork) -> Quest:
        await read_models.lock_offer(uow.conn, offer_id)
        offer = await read_models.offer(uow.conn, offer_id)
        existing = await read_models.quest_for_offer(uow.conn, offer_id)
        badge = await read_models.badge(uow.conn, offer.badge_class_id) if offer else None
        events = decide_start_quest(command, offer, badge, existing)
        if existing is not None:
            return existing
        version = await uow.lock_stream(command.quest_id)
        started = new_envelope(
            events[0], stream_id=command.quest_id, stream_version=version + 1, actor="learner"
        )
        await uow.emit(started)
        return evolve(None, started)

    return await runtime.execute(work)


async def request_sign_in(runtime: ServiceRuntime, email: str) -> None:
    """Append the ask and answer. It goes straight to the log, not through a unit of work:
    the consumer applies it there, finding the address's quests and mailing a link to each,
    so the request does the same work, one append, whether the address is known or not."""
    [asked] = decide_sign_in_ask(email)
    ask = new_envelope(asked, stream_id=uuid.uuid4(), stream_version=1, actor="learner")
    try:
        await asyncio.wait_for(runtime.publisher.publish(ask), APPEND_TIMEOUT_SECONDS)
    except (KafkaError, TimeoutError) as error:
        raise Unavailable("We cannot take requests just now. Try again in a minute.") from error


async def request_address_sign_in(runtime: ServiceRuntime, email: str) -> None:
    """Append the ask for a home sign-in link and answer: the notifier mails the link, the same
    for any address, so the request does the same work whoever asks."""
    [asked] = decide_address_sign_in(email)
    ask = new_envelope(asked, stream_id=uuid.uuid4(), stream_version=1, actor="learner")
    try:
        await asyncio.wait_for(runtime.publisher.publish(ask), APPEND_TIMEOUT_SECONDS)
    except (KafkaError, TimeoutError) as error:
        raise Unavailable("We cannot take requests just now. Try again in a minute.") from error


async def choose_recipient_name(
    runtime: ServiceRuntime,
    assertion_id: uuid.UUID,
    proved: tuple[str, ...],
    show_name: bool,
    name: str,
) -> None:
    """The holder's choice of what the badge's public page says of them, on the award's
    stream (the badge service shows it)."""

    async def work(uow: UnitOfWork) -> None:
        version = await uow.lock_stream(assertion_id)
        award = await read_models.award(uow.conn, assertion_id)
        events = decide_recipient_name(award, proved, show_name, name)
        await _append(uow, assertion_id, version, events, "learner")

    await runtime.execute(work)


async def learner_progress(
    conn: Connection, proved: tuple[str, ...], playlist_id: uuid.UUID | None = None
) -> list[Progress]:
    """The learner's progress on each published playlist they started (or on the one asked
    for, started or not), from the awards to their proved addresses."""
    awards = await read_models.awards_of(conn, proved)
    held = [a.badge_class_id for a in awards if a.counts]
    if playlist_id is not None:
        found = await read_models.playlist(conn, playlist_id)
        playlists = [found] if found else []
    else:
        playlists = await read_models.playlists_with_any(
            conn, await read_models.activities_of_badges(conn, held)
        )
    made = []
    for playlist in playlists:
        badges = await read_models.activity_badges(conn, list(playlist.activity_ids))
        made.append(progress(playlist, badges, awards))
    return [p for p in made if p.started or playlist_id is not None]


async def invite_to_playlist(
    runtime: ServiceRuntime,
    playlist_id: uuid.UUID,
    inviter: Inviter,
    invitees: list[str],
    note: str,
    proved: tuple[str, ...] = (),
) -> PlaylistInvitationSent:
    """People invited to a playlist: decided on what the playlist and the inviter are now,
    appended on the invitation's own stream. A learner inviter follows the playlist when one
    of their proved addresses holds one of its badges."""
    invitation_id = uuid.uuid4()

    async def work(uow: UnitOfWork) -> PlaylistInvitationSent:
        playlist = await read_models.playlist(uow.conn, playlist_id)
        who = inviter
        if inviter.kind == "learner" and playlist is not None:
            [made] = await learner_progress(uow.conn, proved, playlist_id)
            who = replace(inviter, follows=follows(made))
        [invited] = decide_invitation(invitation_id, playlist, who, invitees, note)
        version = await uow.lock_stream(invitation_id)
        await _append(uow, invitation_id, version, [invited], inviter.kind)
        return invited

    return await runtime.execute(work)


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
    """`keep_file` moves an uploaded file into the store; it runs only once the decision is
    made, so a refused submission leaves nothing on disk."""
    command = SubmitEvidence(
        submission_id=uuid.uuid4(),
        quest_id=quest_id,
        learner=learner,
        task_id=task_id,
        text=text,
        url=url,
        file=file,
    )

    async def work(uow: UnitOfWork) -> uuid.UUID:
        version = await uow.lock_stream(quest_id)
        quest = await read_models.quest(uow.conn, quest_id)
        reviewers, organisers = await _who_reviews(uow, quest)
        events = decide_submission(command, quest, reviewers=reviewers, organisers=organisers)
        if keep_file is not None and any(
            isinstance(e, EvidenceSubmitted) and e.file for e in events
        ):
            keep_file()
        await _append(uow, quest_id, version, events, "learner")
        return command.submission_id

    return await runtime.execute(work)


async def review(
    runtime: ServiceRuntime,
    submission_id: uuid.UUID,
    reviewer: str,
    role: ReviewRole | None,
    verdict: Literal["approve", "reject"],
    feedback: str,
    organisation_id: uuid.UUID | None = None,
) -> None:
    """Record a review; the decision it brings (approval, rejection) follows in the same turn.

    `role` None is a review through an emailed link: the submission says who reviews it (its
    peers, or the organisers), and the link's address must be one of them.
    """
    command = RecordReview(
        review_id=uuid.uuid4(),
        submission_id=submission_id,
        reviewer=reviewer,
        role=role,
        verdict=verdict,
        feedback=feedback,
        organisation_id=organisation_id,
    )
    # Refused before any lock is taken: it needs nothing but what was sent.
    check_feedback(verdict, feedback)

    async def work(uow: UnitOfWork) -> None:
        quest_id = await read_models.quest_of_submission(uow.conn, submission_id)
        if quest_id is None:
            raise NotFound("submission not found")
        version = await uow.lock_stream(quest_id)
        quest = await read_models.quest(uow.conn, quest_id)
        reviewers, organisers = await _who_reviews(uow, quest)
        events = decide_review(command, quest, reviewers=reviewers, organisers=organisers)
        await _append(uow, quest_id, version, events, events[0].role)

    await runtime.execute(work)
