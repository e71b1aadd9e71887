"""The organiser API of the activity service. Routes only translate HTTP to commands."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.activity import service_layer
from services.activity.adapters import read_models
from services.activity.domain.model import (
    Activity,
    ArchiveActivity,
    DraftActivity,
    DraftPlaylist,
    Playlist,
    PublishActivity,
    PublishPlaylist,
    Status,
    UpdateActivity,
    UpdatePlaylist,
)
from services.kernel.errors import Forbidden, NotFound
from services.kernel.http import new_app
from services.kernel.organisers import CurrentOrganiser, Organiser
from services.kernel.runtime import ServiceRuntime

Title = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=10_000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NewActivity(Body):
    title: Title
    description: LongText = ""
    criteria: LongText = Field(default="", description="What a learner does to earn the badge.")


class ActivityChanges(Body):
    title: Title | None = None
    description: LongText | None = None
    criteria: LongText | None = None


class ActivityOut(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    title: str
    description: str
    criteria: str
    status: Status
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None

    @classmethod
    def of(cls, activity: Activity) -> ActivityOut:
        return cls(id=activity.activity_id, **_without(activity, "activity_id"))


class NewPlaylist(Body):
    title: Title
    description: LongText = ""
    activity_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)


class PlaylistChanges(Body):
    title: Title | None = None
    description: LongText | None = None
    activity_ids: list[uuid.UUID] | None = Field(default=None, max_length=100)


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
        fields = _without(playlist, "playlist_id")
        fields["activity_ids"] = list(playlist.activity_ids)
        return cls(id=playlist.playlist_id, **fields)


class NewOrganiser(Body):
    name: Title
    email: EmailStr


class OrganiserKeyOut(BaseModel):
    organisation_id: uuid.UUID
    organiser_id: uuid.UUID
    api_key: str = Field(description="Shown this once only; store it safely.")


def _without(record: Any, key: str) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k != key}


Owned = TypeVar("Owned", Activity, Playlist)


def _owned(found: Owned | None, organiser: Organiser, what: str) -> Owned:
    if found is None:
        raise NotFound(f"{what} not found")
    if found.organisation_id != organiser.organisation_id:
        raise Forbidden(f"this {what} belongs to another organisation")
    return found


def build_app(runtime: ServiceRuntime) -> FastAPI:
    app = new_app(
        "Activity service",
        "Organisations, organisers, activities and playlists. Publishing an activity or a "
        "playlist creates its badge. Authenticate with `Authorization: Bearer obk_...`.",
    )
    app.state.runtime = runtime

    @app.get("/v1/me", tags=["organisers"])
    async def me(organiser: CurrentOrganiser) -> dict[str, Any]:
        async with runtime.pool.acquire() as conn:
            organisation = await read_models.get_organisation(conn, organiser.organisation_id)
            person = await read_models.get_organiser(conn, organiser.organiser_id)
        return {"organiser": person, "organisation": organisation}

    @app.post("/v1/organisers", status_code=201, tags=["organisers"])
    async def add_organiser(body: NewOrganiser, organiser: CurrentOrganiser) -> OrganiserKeyOut:
        """Add a colleague to your organisation; their API key is in this answer only."""
        added = await service_layer.add_organiser(
            runtime, organiser.organisation_id, body.name, str(body.email), organiser.actor
        )
        return OrganiserKeyOut(**vars(added))

    @app.post("/v1/activities", status_code=201, tags=["activities"])
    async def draft_activity(body: NewActivity, organiser: CurrentOrganiser) -> ActivityOut:
        command = DraftActivity(
            activity_id=uuid.uuid4(),
            organisation_id=organiser.organisation_id,
            title=body.title,
            description=body.description,
            criteria=body.criteria,
        )
        return ActivityOut.of(
            await service_layer.handle_activity(runtime, organiser.actor, command)
        )

    @app.get("/v1/activities", tags=["activities"])
    async def list_activities(
        organiser: CurrentOrganiser, status: Status | None = None
    ) -> list[ActivityOut]:
        async with runtime.pool.acquire() as conn:
            found = await read_models.list_activities(conn, organiser.organisation_id, status)
        return [ActivityOut.of(activity) for activity in found]

    @app.get("/v1/activities/{activity_id}", tags=["activities"])
    async def get_activity(activity_id: uuid.UUID, organiser: CurrentOrganiser) -> ActivityOut:
        async with runtime.pool.acquire() as conn:
            activity = await read_models.get_activity(conn, activity_id)
        return ActivityOut.of(_owned(activity, organiser, "activity"))

    @app.patch("/v1/activities/{activity_id}", tags=["activities"])
    async def update_activity(
        activity_id: uuid.UUID, body: ActivityChanges, organiser: CurrentOrganiser
    ) -> ActivityOut:
        """Edit an activity. Editing a published activity leaves its badge as it is."""
        command = UpdateActivity(
            activity_id=activity_id,
            organisation_id=organiser.organisation_id,
            **body.model_dump(exclude_unset=True),
        )
        return ActivityOut.of(
            await service_layer.handle_activity(runtime, organiser.actor, command)
        )

    @app.post("/v1/activities/{activity_id}/publish", tags=["activities"])
    async def publish_activity(activity_id: uuid.UUID, organiser: CurrentOrganiser) -> ActivityOut:
        """Publish the activity; its badge is created from it at once."""
        command = PublishActivity(activity_id, organiser.organisation_id)
        return ActivityOut.of(
            await service_layer.handle_activity(runtime, organiser.actor, command)
        )

    @app.post("/v1/activities/{activity_id}/archive", tags=["activities"])
    async def archive_activity(activity_id: uuid.UUID, organiser: CurrentOrganiser) -> ActivityOut:
        command = ArchiveActivity(activity_id, organiser.organisation_id)
        return ActivityOut.of(
            await service_layer.handle_activity(runtime, organiser.actor, command)
        )

    @app.post("/v1/playlists", status_code=201, tags=["playlists"])
    async def draft_playlist(body: NewPlaylist, organiser: CurrentOrganiser) -> PlaylistOut:
        command = DraftPlaylist(
            playlist_id=uuid.uuid4(),
            organisation_id=organiser.organisation_id,
            title=body.title,
            description=body.description,
            activity_ids=tuple(body.activity_ids),
        )
        return PlaylistOut.of(
            await service_layer.handle_playlist(runtime, organiser.actor, command)
        )

    @app.get("/v1/playlists", tags=["playlists"])
    async def list_playlists(organiser: CurrentOrganiser) -> list[PlaylistOut]:
        async with runtime.pool.acquire() as conn:
            found = await read_models.list_playlists(conn, organiser.organisation_id)
        return [PlaylistOut.of(playlist) for playlist in found]

    @app.get("/v1/playlists/{playlist_id}", tags=["playlists"])
    async def get_playlist(playlist_id: uuid.UUID, organiser: CurrentOrganiser) -> PlaylistOut:
        async with runtime.pool.acquire() as conn:
            playlist = await read_models.get_playlist(conn, playlist_id)
        return PlaylistOut.of(_owned(playlist, organiser, "playlist"))

    @app.patch("/v1/playlists/{playlist_id}", tags=["playlists"])
    async def update_playlist(
        playlist_id: uuid.UUID, body: PlaylistChanges, organiser: CurrentOrganiser
    ) -> PlaylistOut:
        changes = body.model_dump(exclude_unset=True)
        if "activity_ids" in changes:
            changes["activity_ids"] = tuple(changes["activity_ids"])
        command = UpdatePlaylist(
            playlist_id=playlist_id, organisation_id=organiser.organisation_id, **changes
        )
        return PlaylistOut.of(
            await service_layer.handle_playlist(runtime, organiser.actor, command)
        )

    @app.post("/v1/playlists/{playlist_id}/publish", tags=["playlists"])
    async def publish_playlist(playlist_id: uuid.UUID, organiser: CurrentOrganiser) -> PlaylistOut:
        """Publish the playlist; its badge goes to learners holding all its activities' badges."""
        command = PublishPlaylist(playlist_id, organiser.organisation_id)
        return PlaylistOut.of(
            await service_layer.handle_playlist(runtime, organiser.actor, command)
        )

    return app
