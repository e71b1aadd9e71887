"""Events of the activity service, on topic `activity.events`: organisations, organisers,
activities, playlists."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from contracts.envelope import Event, register

TOPIC = "activity.events"

Title = Field(min_length=1, max_length=200, description="Shown to learners as the badge name.")


class ActivityEvent(Event):
    topic: ClassVar[str] = TOPIC


class OrganisationCreated(ActivityEvent):
    organisation_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(max_length=500, description="The organisation's home page (Issuer url).")
    email: str = Field(max_length=320, description="Contact address shown in the Issuer profile.")


class OrganiserAdded(ActivityEvent):
    organiser_id: uuid.UUID
    organisation_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    email: str = Field(max_length=320)


class OrganiserKeyIssued(ActivityEvent):
    """An API key for an organiser. Only the SHA-256 of its secret ever leaves the issuing call."""

    organiser_id: uuid.UUID
    organisation_id: uuid.UUID
    key_id: str = Field(min_length=8, max_length=64)
    secret_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class OrganiserKeyRevoked(ActivityEvent):
    organiser_id: uuid.UUID
    organisation_id: uuid.UUID
    key_id: str = Field(min_length=8, max_length=64)


class OrganiserAdminRoleGranted(ActivityEvent):
    """The organiser may now add, remove and promote colleagues, and revoke any of the
    organisation's keys. In logs from before this event, an organisation's first organiser
    counts as its admin."""

    organiser_id: uuid.UUID
    organisation_id: uuid.UUID


class OrganiserRemoved(ActivityEvent):
    """The organiser no longer belongs to the organisation; every key they hold is revoked
    (each also by its own `OrganiserKeyRevoked`, emitted before this)."""

    organiser_id: uuid.UUID
    organisation_id: uuid.UUID


class ActivityContent(ActivityEvent):
    """The organiser-editable part of an activity, carried whole by each event that changes it."""

    activity_id: uuid.UUID
    organisation_id: uuid.UUID
    title: str = Title
    description: str = Field(max_length=10_000)
    criteria: str = Field(max_length=10_000, description="What a learner must do to earn it.")


class ActivityDrafted(ActivityContent):
    pass


class ActivityUpdated(ActivityContent):
    pass


class ActivityPublished(ActivityContent):
    """The activity is public. Its content at publication is what the badge is made from."""


class ActivityArchived(ActivityEvent):
    activity_id: uuid.UUID
    organisation_id: uuid.UUID


class PlaylistContent(ActivityEvent):
    playlist_id: uuid.UUID
    organisation_id: uuid.UUID
    title: str = Title
    description: str = Field(max_length=10_000)
    activity_ids: tuple[uuid.UUID, ...] = Field(max_length=100, description="In learning order.")


class PlaylistDrafted(PlaylistContent):
    pass


class PlaylistUpdated(PlaylistContent):
    pass


class PlaylistPublished(PlaylistContent):
    """Holding the badges of every activity listed earns the playlist's badge."""


register(
    OrganisationCreated,
    OrganiserAdded,
    OrganiserKeyIssued,
    OrganiserKeyRevoked,
    OrganiserAdminRoleGranted,
    OrganiserRemoved,
    ActivityDrafted,
    ActivityUpdated,
    ActivityPublished,
    ActivityArchived,
    PlaylistDrafted,
    PlaylistUpdated,
    PlaylistPublished,
)
