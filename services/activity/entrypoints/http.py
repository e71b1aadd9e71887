"""The organiser API of the activity service. Routes only translate HTTP to commands."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, TypeVar

from fastapi import FastAPI, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from contracts.activity import Moment, Place
from contracts.organiser_keys import KEY_PREFIX, key_prefix
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
from services.kernel.runtime import ServiceRuntime
from services.organiser_access import CurrentOrganiser, Organiser

Title = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(max_length=10_000)]
ActivityIds = Annotated[list[uuid.UUID], Field(max_length=100)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class NewActivity(Body):
    title: Title
    description: LongText = ""
    criteria: LongText = Field(default="", description="What a learner does to earn the badge.")
    starts_at: Moment | None = Field(default=None, examples=["2027-05-01T10:00:00+01:00"])
    ends_at: Moment | None = Field(default=None, description="Not before `starts_at`.")
    place: Place | None = None


class Changes(Body):
    """A PATCH body, read the one way every PATCH of the platform reads it: a field left out
    stays as it is; `null` is accepted only where it is a value of the field (the badge's
    `expires_after_days: null`, never expires; the fields named in `nullable`); elsewhere it
    is refused with 422 naming the field: send "" or [] to empty one. The schema shows only
    the `nullable` fields as nullable (`SkipJsonSchema` on the others)."""

    # Fields where null is a value (no date, no place): sent as null, they are emptied.
    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_nulls(self) -> Changes:
        nulls = sorted(f for f in self.model_fields_set - self.nullable if getattr(self, f) is None)
        if nulls:
            raise ValueError(
                f"{', '.join(nulls)} cannot be null: leave a field out to keep it as it is, "
                'or send "" (or [] for a list) to empty it'
            )
        return self


class ActivityChanges(Changes):
    title: Title | SkipJsonSchema[None] = None
    description: LongText | SkipJsonSchema[None] = None
    criteria: LongText | SkipJsonSchema[None] = None
    starts_at: Moment | None = Field(default=None, description="null: no set time.")
    ends_at: Moment | None = Field(default=None, description="null: no set end.")
    place: Place | None = Field(default=None, description="null: no place.")
    nullable: ClassVar[frozenset[str]] = frozenset({"starts_at", "ends_at", "place"})


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
    starts_at: datetime | None
    ends_at: datetime | None
    place: Place | None

    @classmethod
    def of(cls, activity: Activity) -> ActivityOut:
        return cls(id=activity.activity_id, **_without(activity, "activity_id"))


class NewPlaylist(Body):
    title: Title
    description: LongText = ""
    activity_ids: list[uuid.UUID] = Field(default_factory=list, max_length=100)


class PlaylistChanges(Changes):
    title: Title | SkipJsonSchema[None] = None
    description: LongText | SkipJsonSchema[None] = None
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
        fields = _without(playlist, "playlist_id")
        fields["activity_ids"] = list(playlist.activity_ids)
        return cls(id=playlist.playlist_id, **fields)


class NewOrganiser(Body):
    name: Title
    email: EmailStr
    admin: bool = Field(
        default=False, strict=True, description="Make them an admin of the organisation too."
    )


class OrganiserKeyOut(BaseModel):
    organisation_id: uuid.UUID
    organiser_id: uuid.UUID
    key_id: str
    prefix: str = Field(description="What recognises the key in `GET /v1/keys` later.")
    api_key: str = Field(description="Shown this once only; store it safely.")

    @classmethod
    def of(cls, issued: service_layer.OrganiserWithKey) -> OrganiserKeyOut:
        return cls(**vars(issued), prefix=key_prefix(issued.key_id))


class OrganiserOut(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    admin: bool
    created_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> OrganiserOut:
        return cls(
            id=row["organiser_id"],
            name=row["name"],
            email=row["email"],
            admin=row["is_admin"],
            created_at=row["created_at"],
        )


class KeyOut(BaseModel):
    key_id: str
    prefix: str = Field(description="The start of the key, `obk_<key_id>`; never the secret.")
    organiser_id: uuid.UUID
    organiser_name: str | None
    issued_at: datetime | None
    revoked: bool
    revoked_at: datetime | None


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

    @app.get("/v1/organisers", tags=["organisers"])
    async def list_organisers(organiser: CurrentOrganiser) -> list[OrganiserOut]:
        """Your organisation's organisers (removed ones are not listed), admins marked."""
        async with runtime.pool.acquire() as conn:
            rows = await read_models.list_organisers(conn, organiser.organisation_id)
        return [OrganiserOut.of(row) for row in rows]

    @app.post("/v1/organisers", status_code=201, tags=["organisers"])
    async def add_organiser(body: NewOrganiser, organiser: CurrentOrganiser) -> OrganiserKeyOut:
        """Add a colleague to your organisation (admins only); their API key is in this answer
        only."""
        added = await service_layer.add_organiser(
            runtime,
            organiser,
            organiser.organisation_id,
            body.name,
            str(body.email),
            admin=body.admin,
        )
        return OrganiserKeyOut.of(added)

    @app.post("/v1/organisers/{organiser_id}/admin", tags=["organisers"])
    async def make_admin(organiser_id: uuid.UUID, organiser: CurrentOrganiser) -> OrganiserOut:
        """Make a colleague an admin too (admins only)."""
        await service_layer.make_admin(runtime, organiser, organiser_id)
        async with runtime.pool.acquire() as conn:
            row = await read_models.get_organiser(conn, organiser_id)
        assert row is not None
        return OrganiserOut.of(row)

    @app.post("/v1/organisers/{organiser_id}/remove", status_code=204, tags=["organisers"])
    async def remove_organiser(organiser_id: uuid.UUID, organiser: CurrentOrganiser) -> Response:
        """Remove a colleague (admins only, never yourself): every key they hold is revoked."""
        await service_layer.remove_organiser(runtime, organiser, organiser_id)
        return Response(status_code=204)

    @app.get("/v1/keys", tags=["keys"])
    async def list_keys(organiser: CurrentOrganiser) -> list[KeyOut]:
        """Your organisation's API keys, by prefix only: a key is never shown again."""
        async with runtime.pool.acquire() as conn:
            rows = await read_models.list_keys(conn, organiser.organisation_id)
        return [KeyOut(**row) for row in rows]

    @app.post("/v1/keys", status_code=201, tags=["keys"])
    async def issue_key(organiser: CurrentOrganiser) -> OrganiserKeyOut:
        """A new API key for yourself (to replace one you then revoke); shown this once."""
        issued = await service_layer.issue_key(runtime, organiser, organiser.organiser_id)
        return OrganiserKeyOut.of(issued)

    @app.post("/v1/keys/{key_id}/revoke", tags=["keys"])
    async def revoke_key(key_id: str, organiser: CurrentOrganiser) -> KeyOut:
        """Revoke one of your keys (an admin: any of the organisation's). Every service
        refuses it within a second. Accepts the key id or its `obk_` prefix."""
        key_id = key_id.removeprefix(KEY_PREFIX)
        await service_layer.revoke_key(runtime, organiser, key_id)
        async with runtime.pool.acquire() as conn:
            rows = await read_models.list_keys(conn, organiser.organisation_id)
        return next(KeyOut(**row) for row in rows if row["key_id"] == key_id)

    @app.post("/v1/activities", status_code=201, tags=["activities"])
    async def draft_activity(body: NewActivity, organiser: CurrentOrganiser) -> ActivityOut:
        command = DraftActivity(
            activity_id=uuid.uuid4(),
            organisation_id=organiser.organisation_id,
            title=body.title,
            description=body.description,
            criteria=body.criteria,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            place=body.place,
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
        """Edit an activity. Editing a published activity leaves its badge as it is.

        A field left out stays as it is; `null` is refused with 422 (send "" to empty a
        field)."""
        command = UpdateActivity(
            activity_id=activity_id,
            organisation_id=organiser.organisation_id,
            # Attributes, not model_dump(): a place stays a Place.
            **{field: getattr(body, field) for field in body.model_fields_set},
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
        """Edit a draft playlist. A field left out stays as it is; `null` is refused with 422
        (send "" or [] to empty a field)."""
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
