"""The badge service's event-to-handler map: what it decides on events, what it projects."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from contracts import Envelope, derived_envelope, derived_id
from contracts.activity import ActivityPublished, OrganisationCreated, PlaylistPublished
from contracts.badge import (
    AssertionRevoked,
    BadgeAwarded,
    BadgeClassCreated,
    BadgeClassEdited,
    BadgeOffered,
    BlobRef,
    ClaimRejected,
    ClaimRequested,
    HeldBadgeRequested,
    OfferResendRequested,
    OpenLinkRegenerated,
    PeerReviewerInvited,
)
from contracts.evidence import QuestCompleted
from contracts.notifier import EmailDeferred, EmailFailed, EmailSent
from services.badge.adapters import read_models
from services.badge.adapters.default_image import render
from services.badge.domain.model import (
    BadgeClass,
    award,
    badge_class_id_for,
    created_event_id,
    decide_badge_for_source,
    decide_claim,
    evolve,
    legacy_playlist_assertion_id,
    outcome_id,
    playlist_assertion_id,
    playlist_completed,
)
from services.kernel.blob_store import BlobStore
from services.kernel.handlers import Handler, Handlers
from services.kernel.unit_of_work import UnitOfWork
from services.organiser_access import key_projections

ACTOR = "service:badge"


async def issuer_known(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: OrganisationCreated = envelope.payload
    uow.conn.defer(
        "INSERT INTO issuers (issuer_id, name, url, email, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        event.organisation_id,
        event.name,
        event.url,
        event.email,
        envelope.occurred_at,
    )


def make_badge_for_source(blobs: BlobStore) -> Handler:
    async def handle(uow: UnitOfWork, cause: Envelope[Any]) -> None:
        event = cause.payload
        source_id = event.activity_id if isinstance(event, ActivityPublished) else event.playlist_id
        existing = await read_models.badge_class_for_source(uow.conn, source_id)
        if existing is not None:
            return  # the badge is a snapshot of the first publication (see domain.model)
        png = render(event.title, badge_class_id_for(source_id))
        image = BlobRef(sha256=blobs.put(png), size=len(png), media_type="image/png")
        for created in decide_badge_for_source(existing, cause, image):
            version = await uow.lock_stream(created.badge_class_id)
            await uow.emit(
                derived_envelope(
                    created,
                    cause,
                    event_id=created_event_id(cause),
                    stream_id=created.badge_class_id,
                    stream_version=version + 1,
                    actor=ACTOR,
                )
            )

    return handle


async def badge_class_changed(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    # Creation starts the stream: there is nothing to read before it.
    creating = isinstance(envelope.payload, BadgeClassCreated)
    badge_id = envelope.payload.badge_class_id
    state = None if creating else await read_models.get_badge_class(uow.conn, badge_id)
    read_models.save_badge_class(uow.conn, evolve(state, envelope))


async def open_link_regenerated(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: OpenLinkRegenerated = envelope.payload
    uow.conn.defer(
        "UPDATE badge_classes SET open_link_generation = $2, updated_at = $3 "
        "WHERE badge_class_id = $1",
        event.badge_class_id,
        event.generation,
        envelope.occurred_at,
    )


async def badge_offered(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: BadgeOffered = envelope.payload
    uow.conn.defer(
        "INSERT INTO offers (offer_id, badge_class_id, recipient_email, via, expires_at, "
        "created_at, open_link_generation) VALUES ($1, $2, $3, $4, $5, $6, $7) "
        "ON CONFLICT DO NOTHING",
        event.offer_id,
        event.badge_class_id,
        event.recipient_email,
        event.via,
        event.expires_at,
        envelope.occurred_at,
        event.open_link_generation,
    )


async def held_badge_requested(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: HeldBadgeRequested = envelope.payload
    uow.conn.defer(
        "INSERT INTO holder_notices (badge_class_id, open_link_generation, recipient_email) "
        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        event.badge_class_id,
        event.open_link_generation,
        event.recipient_email,
    )


async def claim_requested(uow: UnitOfWork, request: Envelope[Any]) -> None:
    """Record the request, then decide it: in log order, under the badge's lock."""
    claim: ClaimRequested = request.payload
    uow.conn.defer(
        "INSERT INTO claim_requests (request_id, offer_id, badge_class_id, requested_at) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        claim.request_id,
        claim.offer_id,
        claim.badge_class_id,
        request.occurred_at,
    )
    version = await uow.lock_stream(claim.badge_class_id)
    badge = await read_models.get_badge_class(uow.conn, claim.badge_class_id)
    offer = await read_models.get_offer(uow.conn, claim.offer_id)
    if badge is None or offer is None:
        raise ValueError(f"claim {claim.request_id} names an unknown badge or offer")
    held = await read_models.holds_badge(uow.conn, badge.badge_class_id, offer.recipient_email)
    issuer = await read_models.issuer_name(uow.conn, badge.issuer_id)
    outcome = decide_claim(badge, offer, request, held, issuer)
    await uow.emit(
        derived_envelope(
            outcome,
            request,
            event_id=outcome_id(request),
            stream_id=claim.badge_class_id,
            stream_version=version + 1,
            actor=ACTOR,
        )
    )


async def badge_awarded(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: BadgeAwarded = envelope.payload
    uow.conn.defer(
        "INSERT INTO assertions (assertion_id, badge_class_id, issuer_id, offer_id, reason, "
        "recipient_email, recipient_salt, issued_on, expires, evidence) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb) ON CONFLICT DO NOTHING",
        event.assertion_id,
        event.badge_class_id,
        event.issuer_id,
        event.offer_id,
        event.reason,
        event.recipient_email,
        event.recipient_salt,
        event.issued_on,
        event.expires,
        json.dumps([item.model_dump() for item in event.evidence]),
    )
    if event.offer_id is not None:
        uow.conn.defer(
            "UPDATE offers SET assertion_id = $2 WHERE offer_id = $1",
            event.offer_id,
            event.assertion_id,
        )
        uow.conn.defer(
            "UPDATE badge_classes SET open_link_claims = open_link_claims + 1 "
            "WHERE badge_class_id = $1 AND "
            "(SELECT via FROM offers WHERE offer_id = $2) = 'open_link'",
            event.badge_class_id,
            event.offer_id,
        )
    if event.request_id is not None:
        uow.conn.defer(
            "UPDATE claim_requests SET outcome = 'awarded', assertion_id = $2 "
            "WHERE request_id = $1",
            event.request_id,
            event.assertion_id,
        )
    await award_completed_playlists(uow, envelope)


async def award_completed_playlists(uow: UnitOfWork, cause: Envelope[Any]) -> None:
    """A learner holding every activity badge of a playlist gets the playlist's badge, once."""
    event: BadgeAwarded = cause.payload
    badge = await read_models.get_badge_class(uow.conn, event.badge_class_id)
    if badge is None or badge.source_kind != "activity":
        return
    playlists = await read_models.playlists_requiring(uow.conn, badge.source_id)
    if not playlists:
        return
    held = await read_models.held_badge_ids(uow.conn, event.recipient_email)
    held_activities = {
        held_badge.source_id
        for held_badge_id in held
        if (held_badge := await read_models.get_badge_class(uow.conn, held_badge_id))
    }
    for playlist in playlists:
        if playlist.badge_class_id in held or not playlist_completed(playlist, held_activities):
            continue
        await _award_playlist(uow, playlist, event.recipient_email, event.issued_on, cause)


async def _award_playlist(
    uow: UnitOfWork, playlist: BadgeClass, email: str, at: datetime, cause: Envelope[Any]
) -> None:
    if uow.appears_later(legacy_playlist_assertion_id(playlist.badge_class_id, email)):
        return  # awarded under the earlier numbering further down this log: applied there
    version = await uow.lock_stream(playlist.badge_class_id)
    assertion_id = playlist_assertion_id(cause, playlist.badge_class_id, email)
    issuer = await read_models.issuer_name(uow.conn, playlist.issuer_id)
    awarded = award(playlist, assertion_id, email, at, issuer, reason="playlist")
    await uow.emit(
        derived_envelope(
            awarded,
            cause,
            event_id=assertion_id,
            stream_id=playlist.badge_class_id,
            stream_version=version + 1,
            actor=ACTOR,
        )
    )


async def badge_class_created(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    """Project the badge; a new playlist badge goes at once to those who already hold every
    badge of its activities."""
    await badge_class_changed(uow, envelope)
    event: BadgeClassCreated = envelope.payload
    if event.source_kind != "playlist" or not event.required_activity_ids:
        return
    playlist = await read_models.get_badge_class(uow.conn, event.badge_class_id)
    assert playlist is not None
    required = [badge_class_id_for(activity) for activity in event.required_activity_ids]
    for email in await read_models.holders_of_all(uow.conn, required):
        await _award_playlist(uow, playlist, email, envelope.occurred_at, envelope)


async def quest_completed(uow: UnitOfWork, cause: Envelope[Any]) -> None:
    """Evidence approved for every task: the learner's offer is fulfilled, with that evidence."""
    quest: QuestCompleted = cause.payload
    version = await uow.lock_stream(quest.badge_class_id)
    badge = await read_models.get_badge_class(uow.conn, quest.badge_class_id)
    offer = await read_models.get_offer(uow.conn, quest.offer_id)
    if badge is None or offer is None:
        raise ValueError(f"quest {quest.quest_id} names an unknown badge or offer")
    if offer.assertion_id is not None or await read_models.holds_badge(
        uow.conn, badge.badge_class_id, offer.recipient_email
    ):
        return  # awarded already: a badge goes to a recipient once per offer
    issuer = await read_models.issuer_name(uow.conn, badge.issuer_id)
    assertion_id = derived_id(cause.event_id, "BadgeAwarded")
    awarded = award(
        badge,
        assertion_id,
        offer.recipient_email,
        cause.occurred_at,
        issuer,
        offer.offer_id,
        reason="evidence",
        evidence=quest.evidence,
    )
    await uow.emit(
        derived_envelope(
            awarded,
            cause,
            event_id=assertion_id,
            stream_id=badge.badge_class_id,
            stream_version=version + 1,
            actor=ACTOR,
        )
    )


async def peer_reviewer_invited(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: PeerReviewerInvited = envelope.payload
    uow.conn.defer(
        "INSERT INTO peer_reviewers (badge_class_id, email) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        event.badge_class_id,
        event.email,
    )


async def claim_rejected(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: ClaimRejected = envelope.payload
    uow.conn.defer(
        "UPDATE claim_requests SET outcome = 'rejected', reason = $2 WHERE request_id = $1",
        event.request_id,
        event.reason,
    )


async def assertion_revoked(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: AssertionRevoked = envelope.payload
    uow.conn.defer(
        "UPDATE assertions SET revoked = true, revocation_reason = $2, revoked_at = $3 "
        "WHERE assertion_id = $1",
        event.assertion_id,
        event.reason,
        envelope.occurred_at,
    )


async def email_outcome(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    """The notifier's word on an offer's email, shown to the organiser beside the offer."""
    event: EmailSent | EmailFailed = envelope.payload
    if event.kind != "offer" or event.offer_id is None:
        return
    sent = isinstance(event, EmailSent)
    # Its own row, not an update of the offer's: the offer may not be committed yet.
    uow.conn.defer(
        "INSERT INTO offer_emails (offer_id, status, detail, attempts) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (offer_id) DO UPDATE SET status = EXCLUDED.status, "
        "detail = EXCLUDED.detail, attempts = EXCLUDED.attempts",
        event.offer_id,
        "sent" if sent else "failed",
        "" if isinstance(event, EmailSent) else event.reason,
        event.attempts,
    )


async def offer_resend_requested(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: OfferResendRequested = envelope.payload
    uow.conn.defer(
        "INSERT INTO offer_emails (offer_id, status, detail, attempts) "
        "VALUES ($1, 'resending', '', 0) "
        "ON CONFLICT (offer_id) DO UPDATE SET status = 'resending', detail = ''",
        event.offer_id,
    )


async def email_deferred(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    """An offer's email waits for another attempt: the organiser sees why, and how often."""
    event: EmailDeferred = envelope.payload
    if event.kind != "offer" or event.offer_id is None:
        return
    uow.conn.defer(
        # No row yet is `pending`; a final outcome (sent, failed) is never taken back.
        "INSERT INTO offer_emails (offer_id, status, detail, attempts) "
        "VALUES ($1, 'retrying', $2, $3) "
        "ON CONFLICT (offer_id) DO UPDATE SET status = 'retrying', "
        "detail = EXCLUDED.detail, attempts = EXCLUDED.attempts "
        "WHERE offer_emails.status IN ('retrying', 'resending')",
        event.offer_id,
        event.reason,
        event.attempt,
    )


def build_handlers(blobs: BlobStore) -> Handlers:
    make_badge = make_badge_for_source(blobs)
    return (
        Handlers()
        .project(OrganisationCreated, issuer_known)
        .include(key_projections())
        .react(ActivityPublished, make_badge)
        .react(PlaylistPublished, make_badge)
        .project(BadgeClassCreated, badge_class_created)
        .project(BadgeClassEdited, badge_class_changed)
        .project(OpenLinkRegenerated, open_link_regenerated)
        .project(BadgeOffered, badge_offered)
        .project(HeldBadgeRequested, held_badge_requested)
        .react(ClaimRequested, claim_requested)
        .project(BadgeAwarded, badge_awarded)
        .project(ClaimRejected, claim_rejected)
        .project(AssertionRevoked, assertion_revoked)
        .project(EmailSent, email_outcome)
        .project(EmailFailed, email_outcome)
        .project(EmailDeferred, email_deferred)
        .project(OfferResendRequested, offer_resend_requested)
        .react(QuestCompleted, quest_completed)
        .project(PeerReviewerInvited, peer_reviewer_invited)
    )
