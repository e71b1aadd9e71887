"""The badge service's policies: on an event, load the state it concerns (through the state
port), let the domain decide, and emit what it decided, under the badge's lock.

Each decided event's id follows from its cause, so a decision made again (a redelivery, a
replay) is the same event and is applied once.
"""

from __future__ import annotations

import uuid
from typing import Any

from contracts import Envelope, derived_envelope
from contracts.activity import ActivityPublished, PlaylistArchived, PlaylistPublished
from contracts.badge import BadgeAwarded, BadgeClassCreated, BadgeEvent, BlobRef, ClaimRequested
from contracts.evidence import QuestCompleted
from services.badge.adapters.default_image import render
from services.badge.adapters.state import StatesFor
from services.badge.domain.model import (
    badge_class_id_for,
    close_issuing_event_id,
    created_event_id,
    decide_badge_for_source,
    decide_claim,
    decide_close_issuing,
    decide_new_playlist_awards,
    decide_playlist_award,
    decide_quest_award,
    legacy_playlist_assertion_id,
    outcome_id,
)
from services.kernel.blob_store import BlobStore
from services.kernel.unit_of_work import UnitOfWork

ACTOR = "service:badge"
# Taken (shared) by every activity badge award before it looks for playlists it completes, and
# (exclusive) by a new playlist badge before it looks for holders and by an archived playlist
# before it closes its badge: whichever commits second sees the other.
PLAYLISTS_LOCK = "badge-playlists"


class Policies:
    def __init__(self, states: StatesFor, blobs: BlobStore) -> None:
        self._states = states
        self._blobs = blobs

    async def badge_for_activity(self, uow: UnitOfWork, cause: Envelope[ActivityPublished]) -> None:
        event = cause.payload
        await self._badge_for_source(uow, cause, event.activity_id, event.title)

    async def badge_for_playlist(self, uow: UnitOfWork, cause: Envelope[PlaylistPublished]) -> None:
        event = cause.payload
        await self._badge_for_source(uow, cause, event.playlist_id, event.title)

    async def _badge_for_source(
        self,
        uow: UnitOfWork,
        cause: Envelope[ActivityPublished] | Envelope[PlaylistPublished],
        source_id: uuid.UUID,
        title: str,
    ) -> None:
        existing = await self._states(uow).badge_class_for_source(source_id)
        if existing is not None:
            return  # the badge is a snapshot of the first publication (see domain.model)
        png = render(title, badge_class_id_for(source_id))
        image = BlobRef(sha256=self._blobs.put(png), size=len(png), media_type="image/png")
        for created in decide_badge_for_source(existing, cause, image):
            await _emit(uow, created, cause, created_event_id(cause), created.badge_class_id)

    async def playlist_archived(self, uow: UnitOfWork, cause: Envelope[PlaylistArchived]) -> None:
        """An archived playlist's badge is issued to nobody new (see BadgeIssuingClosed)."""
        badge_class_id = badge_class_id_for(cause.payload.playlist_id)
        states = self._states(uow)
        if not decide_close_issuing(await states.badge_class(badge_class_id)):
            return  # no badge (never published), or closed already: no lock taken
        # Awards being made now (badge_awarded) finish first; any after see issuing closed.
        await uow.lock_key(PLAYLISTS_LOCK)
        version = await uow.lock_stream(badge_class_id)
        for closed in decide_close_issuing(await states.badge_class(badge_class_id)):
            await _emit(uow, closed, cause, close_issuing_event_id(cause), badge_class_id, version)

    async def claim_requested(self, uow: UnitOfWork, request: Envelope[ClaimRequested]) -> None:
        """Decide the claim in log order, under the badge's lock: the first Accept wins."""
        claim = request.payload
        version = await uow.lock_stream(claim.badge_class_id)
        states = self._states(uow)
        badge = await states.badge_class(claim.badge_class_id)
        offer = await states.offer(claim.offer_id)
        if badge is None or offer is None:
            raise ValueError(f"claim {claim.request_id} names an unknown badge or offer")
        held = await states.holds_badge(badge.badge_class_id, offer.recipient_email)
        issuer = await states.issuer_name(badge.issuer_id)
        outcome = decide_claim(badge, offer, request, held, issuer)
        await _emit(uow, outcome, request, outcome_id(request), claim.badge_class_id, version)

    async def badge_awarded(self, uow: UnitOfWork, cause: Envelope[BadgeAwarded]) -> None:
        """An activity badge awarded may complete playlists: their badges follow, once."""
        event = cause.payload
        states = self._states(uow)
        badge = await states.badge_class(event.badge_class_id)
        if badge is None or badge.source_kind != "activity":
            return
        # A playlist badge being created now (see badge_class_created) is waited for, so
        # either it sees this award or this sees it.
        await uow.lock_key(PLAYLISTS_LOCK, shared=True)
        playlists = await states.playlists_requiring(badge.source_id)
        if not playlists:
            return
        # Two badges of one playlist awarded at once (two claims, on two instances or
        # partitions): each reads the learner's holdings after the other has committed, so
        # the one that completes the playlist sees the other and awards it.
        await uow.lock_key(f"badge-holder:{event.recipient_email}")
        holder = await states.holder(event.recipient_email)
        for playlist in playlists:
            issuer = await states.issuer_name(playlist.issuer_id)
            for awarded in decide_playlist_award(playlist, holder, cause, event.issued_on, issuer):
                await _emit_playlist_award(uow, awarded, cause)

    async def badge_class_created(
        self, uow: UnitOfWork, cause: Envelope[BadgeClassCreated]
    ) -> None:
        """A new playlist badge goes at once to those who already hold all it requires."""
        event = cause.payload
        if event.source_kind != "playlist" or not event.required_activity_ids:
            return
        # Awards being made now (badge_awarded) finish first, and are among the holders.
        await uow.lock_key(PLAYLISTS_LOCK)
        states = self._states(uow)
        playlist = await states.badge_class(event.badge_class_id)
        assert playlist is not None
        required = [badge_class_id_for(activity) for activity in event.required_activity_ids]
        holders = await states.holders_of_all(required)
        issuer = await states.issuer_name(playlist.issuer_id)
        for awarded in decide_new_playlist_awards(playlist, holders, cause, issuer):
            await _emit_playlist_award(uow, awarded, cause)

    async def quest_completed(self, uow: UnitOfWork, cause: Envelope[QuestCompleted]) -> None:
        """Evidence approved for every task: the learner's offer is fulfilled, with it."""
        quest = cause.payload
        version = await uow.lock_stream(quest.badge_class_id)
        states = self._states(uow)
        badge = await states.badge_class(quest.badge_class_id)
        offer = await states.offer(quest.offer_id)
        if badge is None or offer is None:
            raise ValueError(f"quest {quest.quest_id} names an unknown badge or offer")
        held = await states.holds_badge(badge.badge_class_id, offer.recipient_email)
        issuer = await states.issuer_name(badge.issuer_id)
        for awarded in decide_quest_award(badge, offer, cause, held, issuer):
            await _emit(uow, awarded, cause, awarded.assertion_id, badge.badge_class_id, version)


async def _emit_playlist_award(
    uow: UnitOfWork,
    awarded: BadgeAwarded,
    cause: Envelope[BadgeAwarded] | Envelope[BadgeClassCreated],
) -> None:
    legacy = legacy_playlist_assertion_id(awarded.badge_class_id, awarded.recipient_email)
    if uow.appears_later(legacy):
        return  # awarded under the earlier numbering further down this log: applied there
    await _emit(uow, awarded, cause, awarded.assertion_id, awarded.badge_class_id)


async def _emit(
    uow: UnitOfWork,
    event: BadgeEvent,
    cause: Envelope[Any],
    event_id: uuid.UUID,
    stream_id: uuid.UUID,
    version: int | None = None,
) -> None:
    """Append `event` to its badge's stream after `version`, the badge's last version read
    with its lock (taken here when the policy did not need it to decide)."""
    if version is None:
        version = await uow.lock_stream(stream_id)
    await uow.emit(
        derived_envelope(
            event,
            cause,
            event_id=event_id,
            stream_id=stream_id,
            stream_version=version + 1,
            actor=ACTOR,
        )
    )
