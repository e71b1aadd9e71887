"""Which aggregate each of the service's events belongs to: its stream, and its Kafka key.

An organisation's stream holds its creation; an organiser's holds their membership, role and
keys and sign-in links (so one lock covers whatever changes them, and a link is used once);
activities and playlists have their own. A sign-in ask (`OrganiserSignInAsked`) is on a random
stream of its own (its `ask_id`), appended without a lock.
"""

from __future__ import annotations

import uuid

from contracts.activity import (
    ActivityArchived,
    ActivityContent,
    ActivityEvent,
    OrganisationCreated,
    OrganiserAdded,
    OrganiserAdminRoleGranted,
    OrganiserKeyIssued,
    OrganiserKeyRevoked,
    OrganiserRemoved,
    OrganiserSignInAsked,
    OrganiserSignInRequested,
    PlaylistArchived,
    PlaylistContent,
)


def stream_of(event: ActivityEvent) -> uuid.UUID:
    if isinstance(event, OrganisationCreated):
        return event.organisation_id
    if isinstance(
        event,
        OrganiserAdded
        | OrganiserAdminRoleGranted
        | OrganiserRemoved
        | OrganiserKeyIssued
        | OrganiserKeyRevoked
        | OrganiserSignInRequested,
    ):
        return event.organiser_id
    if isinstance(event, OrganiserSignInAsked):
        return event.ask_id
    if isinstance(event, ActivityContent | ActivityArchived):
        return event.activity_id
    if isinstance(event, PlaylistContent | PlaylistArchived):
        return event.playlist_id
    raise TypeError(f"no stream for {type(event).__name__}")
