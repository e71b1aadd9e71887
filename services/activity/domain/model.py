"""Activities and playlists: what an organiser may do to them, decided from their current state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any

from contracts import Envelope
from contracts.activity import (
    ActivityArchived,
    ActivityDrafted,
    ActivityEvent,
    ActivityImage,
    ActivityPublished,
    ActivityUpdated,
    Place,
    PlaylistArchived,
    PlaylistDrafted,
    PlaylistPublished,
    PlaylistUpdated,
)
from services.kernel.errors import BadRequest, Conflict, Forbidden, NotFound


class Status(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class Activity:
    activity_id: uuid.UUID
    organisation_id: uuid.UUID
    title: str
    description: str
    criteria: str
    status: Status
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place: Place | None = None
    online: bool = False
    language: str | None = None
    image: ActivityImage | None = None
    signup_url: str | None = None


@dataclass(frozen=True)
class Playlist:
    playlist_id: uuid.UUID
    organisation_id: uuid.UUID
    title: str
    description: str
    activity_ids: tuple[uuid.UUID, ...]
    status: Status
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None


# -- commands ---------------------------------------------------------------------------------


class Keep(Enum):
    """An update leaves the field as it is: for the fields where None is a value (no date,
    no place), so None cannot mean "unchanged" there."""

    KEEP = "keep"


KEEP = Keep.KEEP
# Fields where None is a value: an update leaves them as they are only when given KEEP.
NULLABLE = ("starts_at", "ends_at", "place", "language", "image", "signup_url")


@dataclass(frozen=True)
class DraftActivity:
    activity_id: uuid.UUID
    organisation_id: uuid.UUID
    title: str
    description: str
    criteria: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place: Place | None = None
    online: bool = False
    language: str | None = None
    image: ActivityImage | None = None
    signup_url: str | None = None


@dataclass(frozen=True)
class UpdateActivity:
    activity_id: uuid.UUID
    organisation_id: uuid.UUID
    title: str | None = None
    description: str | None = None
    criteria: str | None = None
    starts_at: datetime | Keep | None = KEEP
    ends_at: datetime | Keep | None = KEEP
    place: Place | Keep | None = KEEP
    online: bool | None = None
    language: str | Keep | None = KEEP
    image: ActivityImage | Keep | None = KEEP
    signup_url: str | Keep | None = KEEP


@dataclass(frozen=True)
class PublishActivity:
    activity_id: uuid.UUID
    organisation_id: uuid.UUID


@dataclass(frozen=True)
class ArchiveActivity:
    activity_id: uuid.UUID
    organisation_id: uuid.UUID


ActivityCommand = DraftActivity | UpdateActivity | PublishActivity | ArchiveActivity


@dataclass(frozen=True)
class DraftPlaylist:
    playlist_id: uuid.UUID
    organisation_id: uuid.UUID
    title: str
    description: str
    activity_ids: tuple[uuid.UUID, ...]


@dataclass(frozen=True)
class UpdatePlaylist:
    playlist_id: uuid.UUID
    organisation_id: uuid.UUID
    title: str | None = None
    description: str | None = None
    activity_ids: tuple[uuid.UUID, ...] | None = None


@dataclass(frozen=True)
class PublishPlaylist:
    playlist_id: uuid.UUID
    organisation_id: uuid.UUID


@dataclass(frozen=True)
class ArchivePlaylist:
    playlist_id: uuid.UUID
    organisation_id: uuid.UUID


PlaylistCommand = DraftPlaylist | UpdatePlaylist | PublishPlaylist | ArchivePlaylist


# -- activities -------------------------------------------------------------------------------


def _owned(state: Activity | Playlist | None, organisation_id: uuid.UUID, what: str) -> None:
    if state is None:
        raise NotFound(f"{what} not found")
    if state.organisation_id != organisation_id:
        raise Forbidden(f"this {what} belongs to another organisation")


def _changes(command: object, content: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """The fields an update command sets to something new (None: leave as it is)."""
    return {
        field: value
        for field in fields
        if (value := getattr(command, field)) is not None and value != content[field]
    }


def _check_dates(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at is not None and ends_at is not None and ends_at < starts_at:
        raise BadRequest("the activity cannot end before it starts")


def _check_online_or_at_a_place(online: bool, place: Place | None) -> None:
    # The catalogue's filter and its map tell the two apart: one activity is not both.
    if online and place is not None:
        raise BadRequest(
            "an online activity has no place: send place null with online true, or online "
            "false to keep the place"
        )


def decide_activity(state: Activity | None, command: ActivityCommand) -> list[ActivityEvent]:
    if isinstance(command, DraftActivity):
        if state is not None:
            raise Conflict("an activity with this id already exists")
        _check_dates(command.starts_at, command.ends_at)
        _check_online_or_at_a_place(command.online, command.place)
        return [
            ActivityDrafted(
                activity_id=command.activity_id,
                organisation_id=command.organisation_id,
                title=command.title,
                description=command.description,
                criteria=command.criteria,
                starts_at=command.starts_at,
                ends_at=command.ends_at,
                place=command.place,
                online=command.online,
                language=command.language,
                image=command.image,
                signup_url=command.signup_url,
            )
        ]
    _owned(state, command.organisation_id, "activity")
    assert state is not None
    if state.status is Status.ARCHIVED:
        raise Conflict("the activity is archived and can no longer change")
    content = {
        "activity_id": state.activity_id,
        "organisation_id": state.organisation_id,
        "title": state.title,
        "description": state.description,
        "criteria": state.criteria,
        "starts_at": state.starts_at,
        "ends_at": state.ends_at,
        "place": state.place,
        "online": state.online,
        "language": state.language,
        "image": state.image,
        "signup_url": state.signup_url,
    }
    if isinstance(command, UpdateActivity):
        changes = _changes(command, content, ("title", "description", "criteria", "online"))
        changes |= {
            field: value
            for field in NULLABLE
            if (value := getattr(command, field)) is not KEEP and value != content[field]
        }
        _check_dates(*(changes.get(f, content[f]) for f in ("starts_at", "ends_at")))
        _check_online_or_at_a_place(*(changes.get(f, content[f]) for f in ("online", "place")))
        return [ActivityUpdated(**(content | changes))] if changes else []
    if isinstance(command, PublishActivity):
        if state.status is Status.PUBLISHED:
            raise Conflict("the activity is already published")
        return [ActivityPublished(**content)]
    return [ActivityArchived(activity_id=state.activity_id, organisation_id=state.organisation_id)]


ActivityChange = (
    Envelope[ActivityDrafted]
    | Envelope[ActivityUpdated]
    | Envelope[ActivityPublished]
    | Envelope[ActivityArchived]
)


def evolve_activity(state: Activity | None, envelope: ActivityChange) -> Activity:
    event = envelope.payload
    at = envelope.occurred_at
    if isinstance(event, ActivityDrafted):
        return Activity(
            activity_id=event.activity_id,
            organisation_id=event.organisation_id,
            title=event.title,
            description=event.description,
            criteria=event.criteria,
            status=Status.DRAFT,
            version=envelope.stream_version,
            created_at=at,
            updated_at=at,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            place=event.place,
            online=event.online,
            language=event.language,
            image=event.image,
            signup_url=event.signup_url,
        )
    if state is None:
        raise ValueError(f"{envelope.event_type} for an activity that was never drafted")
    if isinstance(event, ActivityUpdated | ActivityPublished):
        state = replace(
            state,
            title=event.title,
            description=event.description,
            criteria=event.criteria,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            place=event.place,
            online=event.online,
            language=event.language,
            image=event.image,
            signup_url=event.signup_url,
            version=envelope.stream_version,
            updated_at=at,
        )
        if isinstance(event, ActivityPublished):
            state = replace(state, status=Status.PUBLISHED, published_at=at)
        return state
    if isinstance(event, ActivityArchived):
        return replace(
            state, status=Status.ARCHIVED, version=envelope.stream_version, updated_at=at
        )
    raise ValueError(f"not an activity event: {envelope.event_type}")


# -- playlists --------------------------------------------------------------------------------


def _check_activities(
    organisation_id: uuid.UUID,
    activity_ids: tuple[uuid.UUID, ...],
    activities: dict[uuid.UUID, Activity],
    must_be_published: bool,
) -> None:
    if len(set(activity_ids)) != len(activity_ids):
        raise Conflict("a playlist lists each activity once")
    for activity_id in activity_ids:
        activity = activities.get(activity_id)
        if activity is None or activity.organisation_id != organisation_id:
            raise Conflict(f"activity {activity_id} is not one of your organisation's activities")
        if activity.status is Status.ARCHIVED:
            raise Conflict(f"activity {activity_id} is archived")
        if must_be_published and activity.status is not Status.PUBLISHED:
            raise Conflict(
                f"activity {activity_id} is not published yet; publish it first so it has a badge"
            )


def decide_playlist(
    state: Playlist | None, command: PlaylistCommand, activities: dict[uuid.UUID, Activity]
) -> list[ActivityEvent]:
    """`activities` holds the organisation's activities named by the command or the playlist."""
    if isinstance(command, DraftPlaylist):
        if state is not None:
            raise Conflict("a playlist with this id already exists")
        _check_activities(command.organisation_id, command.activity_ids, activities, False)
        return [
            PlaylistDrafted(
                playlist_id=command.playlist_id,
                organisation_id=command.organisation_id,
                title=command.title,
                description=command.description,
                activity_ids=command.activity_ids,
            )
        ]
    _owned(state, command.organisation_id, "playlist")
    assert state is not None
    if state.status is Status.ARCHIVED:
        raise Conflict("the playlist is archived and can no longer change")
    if isinstance(command, ArchivePlaylist):
        # A draft or a published playlist; its badge, and the badges earned, stay as they are.
        return [
            PlaylistArchived(playlist_id=state.playlist_id, organisation_id=state.organisation_id)
        ]
    if state.status is not Status.DRAFT:
        # Holders of the playlist badge earned it for this exact list; it stays fixed.
        raise Conflict("the playlist is published; its title and activities are fixed")
    content = {
        "playlist_id": state.playlist_id,
        "organisation_id": state.organisation_id,
        "title": state.title,
        "description": state.description,
        "activity_ids": state.activity_ids,
    }
    if isinstance(command, UpdatePlaylist):
        changes = _changes(command, content, ("title", "description", "activity_ids"))
        if "activity_ids" in changes:
            _check_activities(state.organisation_id, changes["activity_ids"], activities, False)
        return [PlaylistUpdated(**(content | changes))] if changes else []
    if not state.activity_ids:
        raise Conflict("a playlist needs at least one activity before it is published")
    _check_activities(state.organisation_id, state.activity_ids, activities, True)
    return [PlaylistPublished(**content)]


PlaylistChange = (
    Envelope[PlaylistDrafted]
    | Envelope[PlaylistUpdated]
    | Envelope[PlaylistPublished]
    | Envelope[PlaylistArchived]
)


def evolve_playlist(state: Playlist | None, envelope: PlaylistChange) -> Playlist:
    event = envelope.payload
    at = envelope.occurred_at
    if isinstance(event, PlaylistDrafted):
        return Playlist(
            playlist_id=event.playlist_id,
            organisation_id=event.organisation_id,
            title=event.title,
            description=event.description,
            activity_ids=tuple(event.activity_ids),
            status=Status.DRAFT,
            version=envelope.stream_version,
            created_at=at,
            updated_at=at,
        )
    if state is None:
        raise ValueError(f"{envelope.event_type} for a playlist that was never drafted")
    if isinstance(event, PlaylistUpdated | PlaylistPublished):
        state = replace(
            state,
            title=event.title,
            description=event.description,
            activity_ids=tuple(event.activity_ids),
            version=envelope.stream_version,
            updated_at=at,
        )
        if isinstance(event, PlaylistPublished):
            state = replace(state, status=Status.PUBLISHED, published_at=at)
        return state
    if isinstance(event, PlaylistArchived):
        return replace(
            state, status=Status.ARCHIVED, version=envelope.stream_version, updated_at=at
        )
    raise ValueError(f"not a playlist event: {envelope.event_type}")
