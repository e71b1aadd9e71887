"""Organiser API: the organisation's playlists (publishing one creates its badge, earned by
holding the badges of all its activities)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from contracts.activity import PlaylistContent
from services.activity import service_layer
from services.activity.adapters import read_models
from services.activity.domain.model import (
    ArchivePlaylist,
    DraftPlaylist,
    Playlist,
    PublishPlaylist,
    Status,
    UpdatePlaylist,
)
from services.activity.entrypoints.bodies import Body, Changes, LimitsOf, Runtime
from services.kernel.errors import Forbidden, NotFound
from services.organiser_access import CurrentOrganiser, Organiser

Title = Annotated[str, LimitsOf(PlaylistContent, "title")]
Description = Annotated[str, LimitsOf(PlaylistContent, "description")]
ActivityIds = Annotated[list[uuid.UUID], LimitsOf(PlaylistContent, "activity_ids")]

router = APIRouter(prefix="/v1/playlists", tags=["playlists"])


class NewPlaylist(Body):
    title: Title
    description: Description = ""
    activity_ids: ActivityIds = Field(default_factory=list)


class PlaylistChanges(Changes):
    title: Title | SkipJsonSchema[None] = None
    description: Description | SkipJsonSchema[None] = None
    activity_ids: ActivityIds | SkipJsonSchema[None] = None


class PlaylistOut(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    title: str
    description: str
    activity_ids: list[uuid.UUID]
    status: Status
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    @classmethod
    def of(cls, playlist: Playlist) -> PlaylistOut:
        fields = {k: v for k, v in vars(playlist).items() if k != "playlist_id"}
        fields["activity_ids"] = list(playlist.activity_ids)
        return cls(id=playlist.playlist_id, **fields)


def owned(found: Playlist | None, organiser: Organiser) -> Playlist:
    if found is None:
        raise NotFound("playlist not found")
    if found.organisation_id != organiser.organisation_id:
        raise Forbidden("this playlist belongs to another organisation")
    return found


@router.post("", status_code=201)
async def draft_playlist(
    body: NewPlaylist, organiser: CurrentOrganiser, runtime: Runtime
) -> PlaylistOut:
    command = DraftPlaylist(
        playlist_id=uuid.uuid4(),
        organisation_id=organiser.organisation_id,
        title=body.title,
        description=body.description,
        activity_ids=tuple(body.activity_ids),
    )
    return PlaylistOut.of(await service_layer.handle_playlist(runtime, organiser.actor, command))


@router.get("")
async def list_playlists(organiser: CurrentOrganiser, runtime: Runtime) -> list[PlaylistOut]:
    async with runtime.pool.acquire() as conn:
        found = await read_models.list_playlists(conn, organiser.organisation_id)
    return [PlaylistOut.of(playlist) for playlist in found]


@router.get("/{playlist_id}")
async def get_playlist(
    playlist_id: uuid.UUID, organiser: CurrentOrganiser, runtime: Runtime
) -> PlaylistOut:
    async with runtime.pool.acquire() as conn:
        playlist = await read_models.get_playlist(conn, playlist_id)
    return PlaylistOut.of(owned(playlist, organiser))


@router.patch("/{playlist_id}")
async def update_playlist(
    playlist_id: uuid.UUID, body: PlaylistChanges, organiser: CurrentOrganiser, runtime: Runtime
) -> PlaylistOut:
    """Edit a draft playlist. A field left out stays as it is; `null` is refused with 422
    (send "" or [] to empty a field)."""
    changes = body.model_dump(exclude_unset=True)
    if "activity_ids" in changes:
        changes["activity_ids"] = tuple(changes["activity_ids"])
    command = UpdatePlaylist(
        playlist_id=playlist_id, organisation_id=organiser.organisation_id, **changes
    )
    return PlaylistOut.of(await service_layer.handle_playlist(runtime, organiser.actor, command))


@router.post("/{playlist_id}/publish")
async def publish_playlist(
    playlist_id: uuid.UUID, organiser: CurrentOrganiser, runtime: Runtime
) -> PlaylistOut:
    """Publish the playlist; its badge goes to learners holding all its activities' badges."""
    command = PublishPlaylist(playlist_id, organiser.organisation_id)
    return PlaylistOut.of(await service_layer.handle_playlist(runtime, organiser.actor, command))


@router.post("/{playlist_id}/archive")
async def archive_playlist(
    playlist_id: uuid.UUID, organiser: CurrentOrganiser, runtime: Runtime
) -> PlaylistOut:
    """Take the playlist down: it leaves the public catalogue and can no longer change. Its
    badge and the badges already earned stay valid."""
    command = ArchivePlaylist(playlist_id, organiser.organisation_id)
    return PlaylistOut.of(await service_layer.handle_playlist(runtime, organiser.actor, command))
