"""The badge service's event-to-handler map: what it decides on its inputs, what it projects."""

from __future__ import annotations

from typing import Any

from contracts import Envelope, new_envelope
from contracts.activity import ActivityPublished, OrganisationCreated, PlaylistPublished
from contracts.badge import BadgeClassCreated
from services.badge.adapters import read_models
from services.badge.adapters.blob_store import BlobStore
from services.badge.adapters.default_image import render
from services.badge.domain.model import (
    badge_class_id_for,
    created_event_id,
    decide_badge_for_source,
    evolve,
)
from services.kernel.organisers import KEY_HANDLERS
from services.kernel.unit_of_work import Handler, HandlerMap, UnitOfWork


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
        image = blobs.put(render(event.title, badge_class_id_for(source_id)), "image/png")
        for created in decide_badge_for_source(existing, cause, image):
            await uow.emit(
                new_envelope(
                    created,
                    event_id=created_event_id(cause),
                    stream_id=created.badge_class_id,
                    stream_version=1,
                    # Derived from the cause alone, so a re-made decision is byte-identical.
                    occurred_at=cause.occurred_at,
                    causation_id=cause.event_id,
                    correlation_id=cause.correlation_id or cause.event_id,
                    actor="service:badge",
                )
            )

    return handle


async def badge_class_changed(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    # Creation starts the stream: there is nothing to read before it.
    creating = isinstance(envelope.payload, BadgeClassCreated)
    state = (
        None
        if creating
        else await read_models.get_badge_class(uow.conn, envelope.payload.badge_class_id)
    )
    read_models.save_badge_class(uow.conn, evolve(state, envelope))


def build_handlers(blobs: BlobStore) -> HandlerMap:
    make_badge = make_badge_for_source(blobs)
    return {
        OrganisationCreated: issuer_known,
        **KEY_HANDLERS,
        ActivityPublished: make_badge,
        PlaylistPublished: make_badge,
        BadgeClassCreated: badge_class_changed,
    }
