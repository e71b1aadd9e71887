"""The badge service's main policies as scenarios any store runs: the in-memory unit of work
with the in-memory state (tests/unit) and the real unit of work on PostgreSQL
(tests/integration). The same events go in, the same decisions must come out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts import Envelope, Event, new_envelope
from contracts.activity import (
    ActivityPublished,
    OrganisationCreated,
    PlaylistArchived,
    PlaylistPublished,
)
from contracts.badge import (
    BadgeClassEdited,
    BadgeOffered,
    ClaimRequested,
    EvidenceItem,
    EvidenceTask,
    OpenLink,
)
from contracts.evidence import QuestCompleted
from services.badge.adapters.state import BadgeStates
from services.badge.domain.model import BadgeClass, badge_class_id_for, close_issuing_event_id
from services.kernel.unit_of_work import UnitOfWork

LEARNER = "learner@example.org"


async def receive(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    """An event read from a log, applied as the consumer applies it: once per id."""
    if await uow.claim(envelope.event_id):
        await uow.apply(envelope)


async def append(uow: UnitOfWork, event: Event, stream_id: uuid.UUID) -> Envelope[Any]:
    """An event of ours (a request appended it), applied next on its stream."""
    version = await uow.lock_stream(stream_id)
    envelope = new_envelope(event, stream_id=stream_id, stream_version=version + 1, actor="t")
    await receive(uow, envelope)
    return envelope


async def organisation(uow: UnitOfWork) -> uuid.UUID:
    organisation_id = uuid.uuid4()
    event = OrganisationCreated(
        organisation_id=organisation_id, name="Riverside", url="https://r.example", email=""
    )
    await receive(uow, new_envelope(event, stream_id=organisation_id, stream_version=1, actor="t"))
    return organisation_id


async def activity_badge(
    uow: UnitOfWork, states: BadgeStates, organisation_id: uuid.UUID, title: str = "Knots"
) -> BadgeClass:
    activity_id = uuid.uuid4()
    published = ActivityPublished(
        activity_id=activity_id,
        organisation_id=organisation_id,
        title=title,
        description="Tie them.",
        criteria="",
        starts_at=None,
        ends_at=None,
        place=None,
    )
    await receive(uow, new_envelope(published, stream_id=activity_id, stream_version=1, actor="t"))
    badge = await states.badge_class_for_source(activity_id)
    assert badge is not None and badge.badge_class_id == badge_class_id_for(activity_id)
    return badge


async def playlist_badge(
    uow: UnitOfWork,
    states: BadgeStates,
    organisation_id: uuid.UUID,
    title: str,
    *activities: BadgeClass,
) -> BadgeClass:
    """A playlist of the activities published: the badge service makes its badge."""
    playlist_id = uuid.uuid4()
    published = PlaylistPublished(
        playlist_id=playlist_id,
        organisation_id=organisation_id,
        title=title,
        description="",
        activity_ids=tuple(activity.source_id for activity in activities),
    )
    await receive(uow, new_envelope(published, stream_id=playlist_id, stream_version=1, actor="t"))
    playlist = await states.badge_class_for_source(playlist_id)
    assert playlist is not None and playlist.required_activity_ids == published.activity_ids
    return playlist


async def offer(
    uow: UnitOfWork,
    badge: BadgeClass,
    email: str = LEARNER,
    via: str = "email",
    generation: int | None = None,
) -> uuid.UUID:
    offer_id = uuid.uuid4()
    offered = BadgeOffered(
        offer_id=offer_id,
        badge_class_id=badge.badge_class_id,
        issuer_id=badge.issuer_id,
        recipient_email=email,
        via=via,  # type: ignore[arg-type]
        open_link_generation=generation,
        expires_at=datetime.now(UTC) + timedelta(days=90),
        badge_name=badge.name,
        badge_description=badge.description,
        issuer_name="Riverside",
    )
    await append(uow, offered, badge.badge_class_id)
    return offer_id


async def accept(uow: UnitOfWork, badge: BadgeClass, offer_id: uuid.UUID) -> uuid.UUID:
    request_id = uuid.uuid4()
    claim = ClaimRequested(
        offer_id=offer_id, badge_class_id=badge.badge_class_id, request_id=request_id
    )
    await append(uow, claim, badge.badge_class_id)
    return request_id


async def edit(uow: UnitOfWork, badge: BadgeClass, **changes: Any) -> None:
    settings = {
        "name": badge.name,
        "description": badge.description,
        "criteria_narrative": badge.criteria_narrative,
        "image": badge.image,
        **changes,
    }
    edited = BadgeClassEdited(badge_class_id=badge.badge_class_id, **settings)
    await append(uow, edited, badge.badge_class_id)


# -- the scenarios -----------------------------------------------------------------------------


async def the_first_accept_of_an_offer_wins(uow: UnitOfWork, states: BadgeStates) -> None:
    badge = await activity_badge(uow, states, await organisation(uow))
    offer_id = await offer(uow, badge)

    first = await accept(uow, badge, offer_id)
    second = await accept(uow, badge, offer_id)

    awarded, rejected = await states.claim(first), await states.claim(second)
    assert awarded is not None and awarded.outcome == "awarded"
    assert rejected is not None and rejected.outcome == "rejected"
    assert rejected.reason == "already_claimed"
    found = await states.offer(offer_id)
    assert found is not None and found.assertion_id == awarded.assertion_id
    assert await states.holds_badge(badge.badge_class_id, LEARNER)


async def the_open_link_counts_its_claims_and_stops_at_its_limit(
    uow: UnitOfWork, states: BadgeStates
) -> None:
    badge = await activity_badge(uow, states, await organisation(uow))
    await edit(uow, badge, open_link=OpenLink(max_claims=1))
    first = await offer(uow, badge, "first@example.org", via="open_link", generation=1)
    second = await offer(uow, badge, "second@example.org", via="open_link", generation=1)
    by_email = await offer(uow, badge, "mailed@example.org")

    awarded = await states.claim(await accept(uow, badge, first))
    refused = await states.claim(await accept(uow, badge, second))
    mailed = await states.claim(await accept(uow, badge, by_email))

    assert awarded is not None and awarded.outcome == "awarded"
    assert refused is not None and refused.reason == "limit_reached"
    # A personal link mailed by the organiser is no claim through the open link.
    assert mailed is not None and mailed.outcome == "awarded"
    counted = await states.badge_class(badge.badge_class_id)
    assert counted is not None and counted.open_link_claims == 1


async def a_playlist_badge_follows_the_last_of_its_activities_once(
    uow: UnitOfWork, states: BadgeStates
) -> None:
    organisation_id = await organisation(uow)
    knots = await activity_badge(uow, states, organisation_id, "Knots")
    sails = await activity_badge(uow, states, organisation_id, "Sails")
    playlist = await playlist_badge(uow, states, organisation_id, "Sailing", knots, sails)

    await accept(uow, knots, await offer(uow, knots))
    assert not await states.holds_badge(playlist.badge_class_id, LEARNER)
    await accept(uow, sails, await offer(uow, sails))
    assert await states.holds_badge(playlist.badge_class_id, LEARNER)
    # Another activity badge of the playlist awarded again: the playlist's is not again.
    held = await states.holder(LEARNER)
    await accept(uow, knots, await offer(uow, knots))
    assert await states.holder(LEARNER) == held


async def a_new_playlist_badge_goes_to_those_who_hold_its_activities(
    uow: UnitOfWork, states: BadgeStates
) -> None:
    organisation_id = await organisation(uow)
    knots = await activity_badge(uow, states, organisation_id, "Knots")
    await accept(uow, knots, await offer(uow, knots))
    playlist = await playlist_badge(uow, states, organisation_id, "Ropes", knots)
    assert await states.holds_badge(playlist.badge_class_id, LEARNER)


async def an_archived_playlists_badge_is_awarded_to_nobody_new(
    uow: UnitOfWork, states: BadgeStates
) -> None:
    organisation_id = await organisation(uow)
    knots = await activity_badge(uow, states, organisation_id, "Knots")
    sails = await activity_badge(uow, states, organisation_id, "Sails")
    playlist = await playlist_badge(uow, states, organisation_id, "Sailing", knots, sails)
    assert playlist.issuing_closed_at is None
    # Completed before the archive: awarded.
    for activity in (knots, sails):
        await accept(uow, activity, await offer(uow, activity, "early@example.org"))
    assert await states.holds_badge(playlist.badge_class_id, "early@example.org")
    offered_before = await offer(uow, playlist, "offered@example.org")

    archived = PlaylistArchived(playlist_id=playlist.source_id, organisation_id=organisation_id)
    for version in (2, 3):  # told twice (two events, not one redelivered): closed once
        told = new_envelope(
            archived, stream_id=playlist.source_id, stream_version=version, actor="t"
        )
        await receive(uow, told)
        closing_applied = await uow.is_applied(close_issuing_event_id(told))
        assert closing_applied == (version == 2), "closed by the first archive only"
    closed = await states.badge_class(playlist.badge_class_id)
    assert closed is not None and closed.issuing_closed_at is not None

    # Completed after: the playlist's badge does not follow.
    for activity in (knots, sails):
        await accept(uow, activity, await offer(uow, activity))
    assert await states.holds_badge(sails.badge_class_id, LEARNER)
    assert not await states.holds_badge(playlist.badge_class_id, LEARNER)
    # What was issued before stands: the early award, and the offer mailed before.
    assert await states.holds_badge(playlist.badge_class_id, "early@example.org")
    claimed = await states.claim(await accept(uow, playlist, offered_before))
    assert claimed is not None and claimed.outcome == "awarded"


async def a_completed_quest_awards_its_offer_once(uow: UnitOfWork, states: BadgeStates) -> None:
    badge = await activity_badge(uow, states, await organisation(uow))
    task = EvidenceTask(task_id=uuid.uuid4(), title="Show a knot", kind="text")
    await edit(uow, badge, evidence_mode="self", tasks=(task,))
    offer_id = await offer(uow, badge)
    refused = await states.claim(await accept(uow, badge, offer_id))
    assert refused is not None and refused.reason == "evidence_required"

    evidence = (EvidenceItem(narrative="A bowline", url="https://e.example/1"),)
    for _ in range(2):  # completed twice (two quests of one offer): awarded once
        completed = QuestCompleted(
            quest_id=uuid.uuid4(),
            badge_class_id=badge.badge_class_id,
            offer_id=offer_id,
            learner_email=LEARNER,
            evidence=evidence,
        )
        quest_id = completed.quest_id
        await receive(uow, new_envelope(completed, stream_id=quest_id, stream_version=1, actor="t"))
        if _ == 0:
            first = await states.offer(offer_id)
            assert first is not None and first.assertion_id is not None
    found = await states.offer(offer_id)
    assert found is not None and first is not None and found.assertion_id == first.assertion_id
    assert await states.holds_badge(badge.badge_class_id, LEARNER)


SCENARIOS = (
    the_first_accept_of_an_offer_wins,
    the_open_link_counts_its_claims_and_stops_at_its_limit,
    a_playlist_badge_follows_the_last_of_its_activities_once,
    a_new_playlist_badge_goes_to_those_who_hold_its_activities,
    an_archived_playlists_badge_is_awarded_to_nobody_new,
    a_completed_quest_awards_its_offer_once,
)
