"""What each of the activity service's events writes into its read models (no decisions:
those are made before the events exist, in the service layer)."""

from __future__ import annotations

from contracts import Envelope
from contracts.activity import (
    ActivityDrafted,
    OrganisationCreated,
    OrganiserAdded,
    OrganiserAdminRoleGranted,
    OrganiserKeyIssued,
    OrganiserRemoved,
    OrganiserSignInRequested,
    PlaylistDrafted,
)
from contracts.badge import BadgeClassCreated, BadgeClassEdited
from services.activity.adapters import catalogue, read_models
from services.activity.domain.catalogue import CatalogueBadge
from services.activity.domain.model import (
    ActivityChange,
    PlaylistChange,
    evolve_activity,
    evolve_playlist,
)
from services.kernel.unit_of_work import UnitOfWork


async def organisation_created(uow: UnitOfWork, envelope: Envelope[OrganisationCreated]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO organisations (organisation_id, name, url, email, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        event.organisation_id,
        event.name,
        event.url,
        event.email,
        envelope.occurred_at,
    )
    catalogue.name_organisation(uow.conn, event.organisation_id, event.name)


async def organiser_added(uow: UnitOfWork, envelope: Envelope[OrganiserAdded]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO organisers (organiser_id, organisation_id, name, email, created_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        event.organiser_id,
        event.organisation_id,
        event.name,
        event.email,
        envelope.occurred_at,
    )


async def admin_role_granted(
    uow: UnitOfWork, envelope: Envelope[OrganiserAdminRoleGranted]
) -> None:
    uow.conn.defer(
        "UPDATE organisers SET made_admin = true WHERE organiser_id = $1",
        envelope.payload.organiser_id,
    )


async def organiser_removed(uow: UnitOfWork, envelope: Envelope[OrganiserRemoved]) -> None:
    uow.conn.defer(
        "UPDATE organisers SET removed_at = COALESCE(removed_at, $2) WHERE organiser_id = $1",
        envelope.payload.organiser_id,
        envelope.occurred_at,
    )


async def sign_in_requested(uow: UnitOfWork, envelope: Envelope[OrganiserSignInRequested]) -> None:
    event = envelope.payload
    uow.conn.defer(
        "INSERT INTO organiser_sign_ins "
        "(request_id, organiser_id, organisation_id, requested_at, expires_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        event.request_id,
        event.organiser_id,
        event.organisation_id,
        envelope.occurred_at,
        event.expires_at,
    )


async def sign_in_used(uow: UnitOfWork, envelope: Envelope[OrganiserKeyIssued]) -> None:
    """A session made from a sign-in link uses the link up."""
    event = envelope.payload
    if event.sign_in_request_id is None:
        return
    uow.conn.defer(
        "UPDATE organiser_sign_ins SET used_at = COALESCE(used_at, $2) WHERE request_id = $1",
        event.sign_in_request_id,
        envelope.occurred_at,
    )


async def activity_drafted(uow: UnitOfWork, envelope: Envelope[ActivityDrafted]) -> None:
    # A draft starts the stream: there is nothing to read before it.
    activity = evolve_activity(None, envelope)
    read_models.save_activity(uow.conn, activity)
    uow.conn.saved["activities", activity.activity_id] = activity


async def activity_changed(uow: UnitOfWork, envelope: ActivityChange) -> None:
    # Saved by this batch already (a replay applies a stream's events one after the other),
    # or as committed.
    activity_id = envelope.payload.activity_id
    state = uow.conn.saved.get(("activities", activity_id))
    if state is None:
        state = await read_models.get_activity(uow.conn, activity_id)
    activity = evolve_activity(state, envelope)
    read_models.save_activity(uow.conn, activity)
    uow.conn.saved["activities", activity_id] = activity
    catalogue.list_activity(uow.conn, activity)


async def playlist_drafted(uow: UnitOfWork, envelope: Envelope[PlaylistDrafted]) -> None:
    read_models.save_playlist(uow.conn, evolve_playlist(None, envelope))


async def playlist_changed(uow: UnitOfWork, envelope: PlaylistChange) -> None:
    state = await read_models.get_playlist(uow.conn, envelope.payload.playlist_id)
    playlist = evolve_playlist(state, envelope)
    read_models.save_playlist(uow.conn, playlist)
    catalogue.list_playlist(uow.conn, playlist)


# -- from the badge service's log: the badge each activity and playlist earns ------------------


async def badge_class_created(uow: UnitOfWork, envelope: Envelope[BadgeClassCreated]) -> None:
    event = envelope.payload
    catalogue.save_badge(
        uow.conn,
        CatalogueBadge(
            badge_class_id=event.badge_class_id,
            source_kind=event.source_kind,
            source_id=event.source_id,
            name=event.name,
            description=event.description,
            criteria=event.criteria_narrative,
        ),
    )


async def badge_class_edited(uow: UnitOfWork, envelope: Envelope[BadgeClassEdited]) -> None:
    event = envelope.payload
    # Created first: both are the badge's own events, in order on its partition.
    found = await catalogue.get_badge(uow.conn, event.badge_class_id)
    if found is None:
        return
    catalogue.save_badge(
        uow.conn,
        CatalogueBadge(
            badge_class_id=found.badge_class_id,
            source_kind=found.source_kind,
            source_id=found.source_id,
            name=event.name,
            description=event.description,
            criteria=event.criteria_narrative,
            evidence_mode=event.evidence_mode,
            open_link=event.open_link.enabled,
            task_titles=tuple(task.title for task in event.tasks),
        ),
    )
