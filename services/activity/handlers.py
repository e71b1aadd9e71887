"""Which event changes which table: the activity service's event-to-handler map."""

from __future__ import annotations

from typing import Any

from contracts import Envelope
from contracts.activity import (
    ActivityArchived,
    ActivityDrafted,
    ActivityPublished,
    ActivityUpdated,
    OrganisationCreated,
    OrganiserAdded,
    OrganiserAdminRoleGranted,
    OrganiserRemoved,
    PlaylistDrafted,
    PlaylistPublished,
    PlaylistUpdated,
)
from services.activity.adapters import read_models
from services.activity.domain.model import evolve_activity, evolve_playlist
from services.kernel.handlers import Handlers
from services.kernel.unit_of_work import UnitOfWork
from services.organiser_access import key_projections


async def organisation_created(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: OrganisationCreated = envelope.payload
    uow.conn.defer(
        "INSERT INTO organisations (organisation_id, name, url, email, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        event.organisation_id,
        event.name,
        event.url,
        event.email,
        envelope.occurred_at,
    )


async def organiser_added(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: OrganiserAdded = envelope.payload
    uow.conn.defer(
        "INSERT INTO organisers (organiser_id, organisation_id, name, email, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        event.organiser_id,
        event.organisation_id,
        event.name,
        event.email,
        envelope.occurred_at,
    )


async def admin_role_granted(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: OrganiserAdminRoleGranted = envelope.payload
    uow.conn.defer(
        "UPDATE organisers SET made_admin = true WHERE organiser_id = $1", event.organiser_id
    )


async def organiser_removed(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    event: OrganiserRemoved = envelope.payload
    uow.conn.defer(
        "UPDATE organisers SET removed_at = COALESCE(removed_at, $2) WHERE organiser_id = $1",
        event.organiser_id,
        envelope.occurred_at,
    )


async def activity_changed(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    # A draft starts the stream: there is nothing to read before it.
    creating = isinstance(envelope.payload, ActivityDrafted)
    state = (
        None if creating else await read_models.get_activity(uow.conn, envelope.payload.activity_id)
    )
    read_models.save_activity(uow.conn, evolve_activity(state, envelope))


async def playlist_changed(uow: UnitOfWork, envelope: Envelope[Any]) -> None:
    creating = isinstance(envelope.payload, PlaylistDrafted)
    state = (
        None if creating else await read_models.get_playlist(uow.conn, envelope.payload.playlist_id)
    )
    read_models.save_playlist(uow.conn, evolve_playlist(state, envelope))


HANDLERS = (
    Handlers()
    .project(OrganisationCreated, organisation_created)
    .project(OrganiserAdded, organiser_added)
    .include(key_projections())
    .project(OrganiserAdminRoleGranted, admin_role_granted)
    .project(OrganiserRemoved, organiser_removed)
    .project(ActivityDrafted, activity_changed)
    .project(ActivityUpdated, activity_changed)
    .project(ActivityPublished, activity_changed)
    .project(ActivityArchived, activity_changed)
    .project(PlaylistDrafted, playlist_changed)
    .project(PlaylistUpdated, playlist_changed)
    .project(PlaylistPublished, playlist_changed)
)
